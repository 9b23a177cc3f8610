"""The memory panel's side of the memory service (REST on 7437): search, read, write, delete,
sessions, the context an agent gets, export and import.

An Agent's memory is the project `spec.memory.project`, else its name, lower-cased (as the
runtime and the web console map it). Every call has a timeout and reads a bounded answer; every
failure becomes `MemoryServiceError`, whose message is for people. A memory is edited as a
markdown file with YAML front matter; the reading back is pure (no I/O), so the editor loop
works the same in $EDITOR and in the in-console editor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from agentops_services.api.memory import (
    ContextObservation,
    ContextResponse,
    ImportResult,
    Observation,
    ObservationCreate,
    ObservationPatch,
    ObservationWriteResult,
    SearchHit,
    Session,
    Stats,
)
from agentops_services.api.yaml_source import (
    PathKey,
    YamlSyntaxError,
    dump_yaml,
    load_documents,
)
from agentops_services.memory.text import estimate_tokens, query_terms
from agentops_services.runtime.memory_client import QUERY_BYTES, format_context
from agentops_tui.services.editing import Cancelled
from agentops_tui.services.error_header import strip_error_header, with_error_header

TIMEOUT = 15.0
"""Seconds per call (the web console's memory proxy waits as long)."""
TRANSFER_TIMEOUT = 120.0
"""Seconds for an export or an import, which move the whole store."""
MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""The most a listing may answer (50 memories of 50 kB each fit, with room)."""
MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""The memory service refuses larger imports."""
LIST_LIMIT = 50
TITLE_WIDTH = EXCERPT_WIDTH = 50
"""Characters of a result's title and of its excerpt (one line each)."""
DEFAULT_CONTEXT_LIMIT = 5
KNOWN_TYPES = ("decision", "architecture", "bugfix", "pattern", "config", "discovery",
               "learning", "preference")  # fmt: skip
"""The types people pick from; others are allowed."""
NEW_FIELDS = ("type", "title", "tags", "project", "scope", "topic_key")
EDIT_FIELDS = ("type", "title", "tags")
"""What the front matter holds: a memory's project, scope and topic key are set when it is
made (export and import move it)."""
_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)
_WORD = re.compile(r"\w+", re.UNICODE)
_OBSERVATIONS: TypeAdapter[list[Observation]] = TypeAdapter(list[Observation])
_HITS: TypeAdapter[list[SearchHit]] = TypeAdapter(list[SearchHit])
_SESSIONS: TypeAdapter[list[Session]] = TypeAdapter(list[Session])
_OBSERVATION: TypeAdapter[Observation] = TypeAdapter(Observation)
_WRITTEN: TypeAdapter[ObservationWriteResult] = TypeAdapter(ObservationWriteResult)
_STATS: TypeAdapter[Stats] = TypeAdapter(Stats)
_CONTEXT: TypeAdapter[ContextResponse] = TypeAdapter(ContextResponse)
_IMPORTED: TypeAdapter[ImportResult] = TypeAdapter(ImportResult)
Parsed = TypeVar("Parsed")


class MemoryServiceError(Exception):
    """The memory service could not be reached, refused, or answered nonsense; for people."""


# --- an Agent's memory -----------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryScope:
    """Whose memory the panel shows: every project of a memory service, or one Agent's."""

    service: str | None = None
    """The memory Service's name (an Agent's `spec.memory.serverRef`); None: the platform's
    memory service (Backend.platform_services)."""
    agent: str | None = None
    project: str | None = None
    """The Agent's project; None: all projects, filtered by hand."""
    context_limit: int = DEFAULT_CONTEXT_LIMIT
    injects_context: bool = True
    """Whether the runtime puts memory into each turn (`spec.memory.autoSearch`)."""


def agent_scope(agent: Mapping[str, Any]) -> MemoryScope | None:
    """The memory of an Agent object (its API-server JSON); None when it has none."""
    memory = (agent.get("spec") or {}).get("memory") or {}
    if not memory.get("serverRef"):
        return None
    name = str(agent["metadata"]["name"])
    return MemoryScope(
        service=str(memory["serverRef"]),
        agent=name,
        project=str(memory.get("project") or name).lower(),
        context_limit=int(memory.get("contextLimit", DEFAULT_CONTEXT_LIMIT)),
        injects_context=bool(memory.get("autoSearch", True)),
    )


def console_session(namespace: str, project: str) -> str:
    """The session the console's own memories belong to (one per namespace and project, as
    the web console's `console-{ns}-{agent}`), within the service's 200 bytes."""
    return f"console-{namespace}-{project}".encode()[:200].decode(errors="ignore")


# --- highlights ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Highlighted:
    """One line of text and the (start, end) character ranges that matched the search."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()


def flat(text: str) -> str:
    """Line breaks and tabs as spaces, one for one (so spans keep their positions)."""
    return text.translate({10: 32, 13: 32, 9: 32})


def from_marks(snippet: str) -> Highlighted:
    """The service's BM25 snippet, its `<mark>…</mark>` turned into spans."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = last = 0
    for match in _MARK.finditer(snippet):
        before, marked = snippet[last : match.start()], match.group(1)
        parts += [before, marked]
        spans.append((length + len(before), length + len(before) + len(marked)))
        length += len(before) + len(marked)
        last = match.end()
    parts.append(snippet[last:])
    return Highlighted(flat("".join(parts)), tuple(spans))


def _matches(word: str, term: str) -> bool:
    """Close to the service's porter stemming: a term matches its own word and, from three
    letters on, the words it begins or that begin it (pool, pools, pooling)."""
    if word == term:
        return True
    return min(len(word), len(term)) >= 3 and (word.startswith(term) or term.startswith(word))


def highlight(text: str, terms: list[str]) -> Highlighted:
    """`text` with the words the query's terms match marked (where the service gave none)."""
    spans = tuple(
        m.span() for m in _WORD.finditer(text) if any(_matches(m.group().lower(), t) for t in terms)
    )
    return Highlighted(flat(text), spans)


def window(found: Highlighted, width: int) -> Highlighted:
    """At most `width` characters around the first match, "…" where text was cut."""
    text = found.text
    if len(text) <= width:
        return found
    start = max(0, (found.spans[0][0] if found.spans else 0) - width // 3)
    if start and start + width - 1 >= len(text):  # the end is near: show the tail
        start = len(text) - width + 1
    head = "…" if start else ""
    end = start + width - len(head)
    tail = ""
    if end < len(text):
        end, tail = end - 1, "…"
    shift = len(head) - start
    spans = tuple(
        (max(s, start) + shift, min(e, end) + shift)
        for s, e in found.spans
        if s < end and e > start
    )
    return Highlighted(head + text[start:end] + tail, spans)


@dataclass(frozen=True)
class Found:
    """One row of the results: a search hit, or a recent memory when nothing is searched."""

    id: int
    type: str
    title: Highlighted
    excerpt: Highlighted
    topic_key: str | None = None


def found_hit(hit: SearchHit, terms: list[str]) -> Found:
    excerpt = from_marks(hit.snippet) if hit.snippet else highlight(hit.content, terms)
    return Found(
        hit.id,
        hit.type,
        window(highlight(hit.title, terms), TITLE_WIDTH),
        window(excerpt, EXCERPT_WIDTH),
        hit.topic_key,
    )


def found_recent(observation: Observation) -> Found:
    return Found(
        observation.id,
        observation.type,
        window(Highlighted(flat(observation.title)), TITLE_WIDTH),
        window(Highlighted(flat(observation.content)), EXCERPT_WIDTH),
        observation.topic_key,
    )


# --- editing as a document -------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A memory as the user wrote it in the editor."""

    type: str
    title: str
    content: str
    tags: tuple[str, ...] = ()
    project: str = ""
    scope: str = "project"
    topic_key: str = ""
    source: str = field(default="", compare=False)
    """The text it was read from (reopened, with the reason on top, if the service refuses)."""


@dataclass(frozen=True)
class Rejected:
    """The text cannot be read; `reopen_text` is it with the problem on top (`#!` lines)."""

    reopen_text: str
    message: str


class DocumentError(ValueError):
    """What is wrong with an edited memory and on which line (1-based, of the text without
    its `#!` header)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class MemoryDocument:
    """A memory (new or existing) as the text the editor shows, and how to read it back."""

    text: str
    original: Draft
    observation_id: int | None = None
    """None: saving creates a memory."""
    proposed: bool = False
    """Written for the user (drafted from a chat): saving it as it is saves it."""

    @property
    def fields(self) -> tuple[str, ...]:
        return NEW_FIELDS if self.observation_id is None else EDIT_FIELDS

    def review(self, shown: str, edited: str) -> Draft | Cancelled | Rejected:
        """What to do with `edited`, the editor's text after it showed `shown`: a text left as
        it was shown (even after an error) or emptied cancels, like `kubectl edit`."""
        text = strip_error_header(edited)
        if not text.strip():
            return Cancelled("the text was emptied")
        if text == strip_error_header(shown) and not self.proposed:
            return Cancelled("nothing was changed")
        try:
            draft = read_document(text, self.fields)
        except DocumentError as exc:  # the header adds one line above the text
            problem = f"line {exc.line + 1}: {exc.message}"
            return Rejected(with_error_header(text, [problem]), problem)
        if self.observation_id is not None:
            kept = self.original
            draft = replace(draft, project=kept.project, scope=kept.scope, topic_key=kept.topic_key)
        if draft == self.original and not self.proposed:
            return Cancelled("nothing was changed")
        return replace(draft, source=text)

    def changes(self, draft: Draft) -> dict[str, Any]:
        """The PATCH body: only what the user changed."""
        before = _editable(self.original)
        return {key: value for key, value in _editable(draft).items() if before[key] != value}


def _editable(draft: Draft) -> dict[str, Any]:
    """The fields PATCH changes."""
    return {"type": draft.type, "title": draft.title, "content": draft.content,
            "tags": list(draft.tags)}  # fmt: skip


INTRO = "# The fields, then the memory's text below the second ---. Cancelled: nothing is saved."


def new_document(project: str | None, type_: str | None) -> MemoryDocument:
    draft = Draft(type=type_ or "discovery", title="", content="", project=project or "")
    front = {"type": draft.type, "title": "", "tags": [], "project": draft.project,
             "scope": draft.scope, "topic_key": ""}  # fmt: skip
    return MemoryDocument(_render(front, [INTRO], ""), draft)


def proposed_document(
    project: str, type_: str, title: str, content: str, tags: Sequence[str] = ()
) -> MemoryDocument:
    """A new memory already written (by `/remember` or drafted from the conversation), for
    the user to review: saved as it is, or edited first."""
    draft = Draft(type=type_, title=title, content=content, tags=tuple(tags), project=project)
    front = {"type": type_, "title": title, "tags": list(tags), "project": project,
             "scope": draft.scope, "topic_key": ""}  # fmt: skip
    about = "# Proposed from the chat: save it as it is, edit it, or empty it to drop it."
    return MemoryDocument(_render(front, [INTRO, about], content), draft, proposed=True)


def edit_document(observation: Observation) -> MemoryDocument:
    o = observation
    draft = Draft(o.type, o.title, o.content.strip("\n"), tuple(o.tags or ()), o.project, o.scope,
                  o.topic_key or "")  # fmt: skip
    about = f"# memory #{o.id} · project {o.project} · scope {o.scope}"
    if o.topic_key:
        about += f" · topic {o.topic_key}"
    front = {"type": o.type, "title": o.title, "tags": list(draft.tags)}
    return MemoryDocument(_render(front, [INTRO, about], draft.content), draft, o.id)


def _render(front: dict[str, Any], comments: list[str], content: str) -> str:
    return (
        "---\n" + "".join(f"{c}\n" for c in comments) + dump_yaml(front) + "---\n" + content + "\n"
    )


def read_document(text: str, fields: tuple[str, ...]) -> Draft:
    """The memory a front-matter document describes; DocumentError naming the line."""
    data, line_of, end = _front_matter(text)
    for key in data:
        if key not in fields:
            raise DocumentError(line_of((key,)), f"unknown field {key}: use {', '.join(fields)}")
    for key in ("type", "title"):
        if key not in data:
            raise DocumentError(1, f"{key} is required")
    content = "\n".join(text.splitlines()[end:]).strip("\n")
    body = {**data, "content": content}
    model: type[BaseModel] = ObservationPatch
    if fields == NEW_FIELDS:
        model, body = ObservationCreate, {**body, "session_id": "console"}
    try:
        model.model_validate(body)
    except ValidationError as exc:
        where = tuple(exc.errors()[0]["loc"])
        line = end + 1 if where[:1] == ("content",) else line_of(where)
        name = ".".join(str(p) for p in where)
        raise DocumentError(line, f"{name}: {exc.errors()[0]['msg']}") from None
    return Draft(
        type=data["type"],
        title=data["title"],
        content=content,
        tags=tuple(data.get("tags") or ()),
        project=str(data.get("project") or ""),
        scope=str(data.get("scope") or "project"),
        topic_key=str(data.get("topic_key") or ""),
    )


def _front_matter(text: str) -> tuple[dict[str, Any], Callable[[PathKey], int], int]:
    """The fields between the --- lines, the line (of `text`) of each, and the line of the
    closing ---."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise DocumentError(1, "start with a --- line, then the fields, then --- and the text")
    end = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise DocumentError(len(lines), "no --- line closes the fields")
    try:
        documents = load_documents("\n".join(lines[1 : end - 1]))
    except YamlSyntaxError as exc:
        raise DocumentError(exc.line + 1, str(exc)) from None
    if not documents:
        return {}, lambda _path: 1, end
    document = documents[0]
    if not isinstance(document.data, dict):
        raise DocumentError(document.line + 1, "the fields must be `name: value` lines")
    if document.duplicate_keys:
        path, line = document.duplicate_keys[0]
        raise DocumentError(line + 1, f"{path[-1]} is given twice")
    return document.data, lambda path: document.line_of(path) + 1, end


def edit_until_read(
    document: MemoryDocument, shown: str, edit: Callable[[str], str]
) -> Draft | Cancelled:
    """Run `edit` (the user's editor) on `shown` until its text reads as a memory or the user
    gives up; each unreadable text comes back with the problem on top."""
    while True:
        outcome = document.review(shown, edit(shown))
        if not isinstance(outcome, Rejected):
            return outcome
        shown = outcome.reopen_text


# --- export files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportCounts:
    sessions: int
    observations: int


class ImportFileError(ValueError):
    """A line of an export file that cannot be imported (nothing was sent)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


RECORDS: dict[str, type[BaseModel]] = {"session": Session, "observation": Observation}


def check_record(number: int, line: bytes) -> Literal["session", "observation", "exported_at"]:
    """What one JSON line of an export holds; ImportFileError saying what is wrong."""
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        raise ImportFileError(number, "not UTF-8 text") from None
    except ValueError as exc:
        raise ImportFileError(number, f"not JSON: {exc}") from None
    if not isinstance(record, dict) or len(record) != 1:
        raise ImportFileError(number, 'expected one of {"session": …}, {"observation": …} or '
                                      '{"exported_at": …}')  # fmt: skip
    [(kind, value)] = record.items()
    if kind == "exported_at":
        if not isinstance(value, str):
            raise ImportFileError(number, "exported_at: Input should be a valid string")
        return "exported_at"
    if kind not in RECORDS:
        raise ImportFileError(number, f"unknown record {kind!r}")
    try:
        RECORDS[kind].model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in (kind, *error["loc"]))
        raise ImportFileError(number, f"{where}: {error['msg']}") from None
    return "session" if kind == "session" else "observation"


def count_records(path: Path, max_bytes: int | None = None) -> ExportCounts:
    """Read an export (JSON lines) through, record by record, without keeping it: what it
    holds, or ImportFileError naming the first bad line. Blocking: run it in a thread."""
    counts = {"session": 0, "observation": 0, "exported_at": 0}
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise ImportFileError(0, f"{path} is larger than {max_bytes // 2**20} MiB")
        with path.open("rb") as file:
            for number, line in enumerate(file, 1):
                if line.strip():
                    counts[check_record(number, line)] += 1
    except OSError as exc:
        raise ImportFileError(0, f"cannot read {path}: {exc.strerror or exc}") from None
    return ExportCounts(counts["session"], counts["observation"])


def check_import_file(path: Path) -> ExportCounts:
    """What importing `path` would add, or ImportFileError: too large for the service, a bad
    line, or nothing in it. Blocking: run it in a thread."""
    counts = count_records(path, MAX_IMPORT_BYTES)
    if not counts.sessions + counts.observations:
        raise ImportFileError(0, f"{path} holds no sessions and no memories")
    return counts


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextPreview:
    """What an agent's runtime puts into its system prompt at the start of a turn."""

    block: str
    """Verbatim, as injected; "" when there is nothing to inject."""
    tokens: int
    observations: list[ContextObservation]
    """With how each was chosen (topic key, BM25 relevance, recency)."""
    sessions: int


class MemoryPanelClient:
    """Typed calls on the client the backend gives for the memory service."""

    def __init__(self, http: httpx.AsyncClient, namespace: str) -> None:
        self.http = http
        self.namespace = namespace

    @contextlib.asynccontextmanager
    async def _open(
        self, method: str, path: str, *, timeout: float = TIMEOUT, **request: Any
    ) -> AsyncIterator[httpx.Response]:
        """A streamed answer; errors (the service's refusals too) as MemoryServiceError."""
        params = {k: v for k, v in (request.pop("params", None) or {}).items() if v is not None}
        try:
            async with self.http.stream(
                method, path, params=params, timeout=timeout, **request
            ) as response:
                if response.status_code >= 400:
                    raise MemoryServiceError(_refusal(response.status_code, await _read(response)))
                yield response
        except httpx.TimeoutException:
            raise MemoryServiceError(
                f"the memory service did not answer within {timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise MemoryServiceError(
                f"cannot reach the memory service: {exc or type(exc).__name__}"
            ) from None

    async def _call(self, method: str, path: str, **request: Any) -> bytes:
        async with self._open(method, path, **request) as response:
            return await _read(response)

    async def _get(self, adapter: TypeAdapter[Parsed], path: str, **params: Any) -> Parsed:
        return _parsed(adapter, await self._call("GET", path, params=params))

    async def search(
        self, query: str, *, project: str | None, type_: str | None, limit: int = LIST_LIMIT
    ) -> list[Found]:
        """Best BM25 matches of `query`; the most recent memories when it is blank."""
        filters = {"project": project, "type": type_, "limit": limit}
        if not query.strip():
            recent = await self._get(_OBSERVATIONS, "/observations/recent", **filters)
            return [found_recent(o) for o in recent]
        hits = await self._get(_HITS, "/search", q=query, **filters)
        terms = query_terms(query)
        return [found_hit(hit, terms) for hit in hits]

    async def get(self, observation_id: int) -> Observation:
        return await self._get(_OBSERVATION, f"/observations/{observation_id}")

    async def create(self, draft: Draft) -> ObservationWriteResult:
        """Save a new memory in the console's session of its project (opened first: the call
        is idempotent)."""
        session = console_session(self.namespace, draft.project)
        await self._call("POST", "/sessions", json={"id": session, "project": draft.project})
        body = ObservationCreate(
            session_id=session,
            type=draft.type,
            title=draft.title,
            content=draft.content,
            project=draft.project,
            tags=list(draft.tags) or None,
            scope=draft.scope or None,
            topic_key=draft.topic_key or None,
        )
        answer = await self._call("POST", "/observations", json=body.to_wire())
        return _parsed(_WRITTEN, answer)

    async def update(self, observation_id: int, changes: dict[str, Any]) -> Observation:
        answer = await self._call("PATCH", f"/observations/{observation_id}", json=changes)
        return _parsed(_OBSERVATION, answer)

    async def delete(self, observation_id: int, *, hard: bool) -> None:
        """Soft: hidden from search and context, kept in the database; hard: erased."""
        params = {"hard": "true"} if hard else {}
        await self._call("DELETE", f"/observations/{observation_id}", params=params)

    async def sessions(self, project: str | None, limit: int = LIST_LIMIT) -> list[Session]:
        return await self._get(_SESSIONS, "/sessions/recent", project=project, limit=limit)

    async def projects(self) -> list[str]:
        return (await self._get(_STATS, "/stats")).projects

    async def context(self, project: str, query: str, limit: int) -> ContextPreview:
        """The context a turn about `query` gets, asked as the runtime asks (its first 500
        bytes) and laid out by the runtime's own code."""
        prompt = query.encode()[:QUERY_BYTES].decode(errors="ignore") or None
        params = {"project": project, "query": prompt, "limit": limit}
        answer = await self._get(_CONTEXT, "/context", **params)
        block = format_context(answer)
        tokens = answer.tokens if answer.tokens is not None else estimate_tokens(block)
        return ContextPreview(
            block, tokens, answer.recent_observations, len(answer.recent_sessions)
        )

    async def export(self, path: Path, project: str | None) -> ExportCounts:
        """Everything not deleted (of one project, or all) into `path` as JSON lines: written
        beside it and moved into place once complete and readable back."""
        part = path.with_name(path.name + ".part")
        params = {"format": "jsonl", "project": project}
        try:
            async with self._open(
                "GET", "/export", params=params, timeout=TRANSFER_TIMEOUT
            ) as answer:
                with await asyncio.to_thread(part.open, "wb") as file:
                    async for chunk in answer.aiter_bytes():
                        await asyncio.to_thread(file.write, chunk)
            counts = await asyncio.to_thread(count_records, part)
            await asyncio.to_thread(part.replace, path)
        except OSError as exc:
            raise MemoryServiceError(f"cannot write {path}: {exc.strerror or exc}") from None
        except ImportFileError as exc:
            raise MemoryServiceError(f"the export is not readable back: {exc}") from None
        finally:
            part.unlink(missing_ok=True)
        return counts

    async def import_file(self, path: Path) -> ImportResult:
        """Load an export checked with `check_import_file`; the service imports it in one
        transaction, so a refusal leaves nothing half-imported."""
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise MemoryServiceError(f"cannot read {path}: {exc.strerror or exc}") from None
        headers = {"content-type": "application/x-ndjson"}
        answer = await self._call(
            "POST", "/import", content=content, headers=headers, timeout=TRANSFER_TIMEOUT
        )
        return _parsed(_IMPORTED, answer)


async def _read(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise MemoryServiceError(f"the memory service answered more than {limit // 2**20} MiB")
    return bytes(body)


def _refusal(status: int, body: bytes) -> str:
    """The service's own reason (`{"error": …}`), else the start of what it said."""
    try:
        reason = str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        reason = body[:200].decode(errors="replace").strip() or httpx.codes.get_reason_phrase(
            status
        )
    return f"the memory service refused: {reason} (HTTP {status})"


def _parsed(adapter: TypeAdapter[Parsed], body: bytes) -> Parsed:
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        raise MemoryServiceError(
            f"unexpected answer from the memory service ({exc.error_count()} invalid fields)"
        ) from None
