"""`kubectl edit` for our custom resources, without a kubectl binary: one edit session.

    session = await EditSession.open(KubeTarget(kube), "Agent", "team-a", "reviewer")
    outcome = session.submit(text_from_the_editor)      # Cancelled | Invalid | Diff
    result = await session.apply()                      # after the user confirmed the Diff

The session keeps the user's raw text (never re-dumped YAML, so their comments and layout
survive) and, whenever a save fails, `session.text` is that same text with the reasons as a `#!`
comment block on top, ready to reopen. Mistakes the models can see (YAML syntax, schema, CEL
rules, renaming the object) are found in-process and name the line; what only the API server
knows (RBAC, admission, a concurrent change) comes back from a server-side dry run.

Where the object lives is an `EditTarget`: on a cluster (`KubeTarget`) saving is server-side
apply (field manager `agentops-console`, forced: the edited text is the whole object the user
wants) carrying `metadata.resourceVersion`, so a change made by someone else after the editor
opened is a conflict rather than a silent overwrite; the embedded platform's target writes its
resource files with the same guarantee.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import aiohttp

from agentops_services.api.manifests import Problem
from agentops_services.api.validation import format_path, validate_resource
from agentops_services.api.yaml_source import YamlSyntaxError, dump_yaml, load_documents
from agentops_services.kube.resources import BY_KIND, ResourceType
from agentops_services.kube.rest import Kube, KubeError
from agentops_tui.services.error_header import MARK, strip_error_header, with_error_header
from agentops_tui.services.object_view import (
    Object,
    editable_view,
    leftover_patch,
    unified_diff,
    without_managed_fields,
)
from agentops_tui.services.templates import new_from_template

FIELD_MANAGER = "agentops-console"
MAX_CHANGE_LINES = 40
"""How many lines of the server's concurrent changes a conflict header shows at most."""
_IDENTITY: tuple[tuple[str, ...], ...] = (
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
)
_RESOURCE_VERSION = re.compile(r"^(\s*resourceVersion:[ \t]*)(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Cancelled:
    """Nothing to save: the text was emptied or the object is unchanged."""

    reason: str


@dataclass(frozen=True)
class Invalid:
    """Problems found before anything was sent; lines are those of `reopen_text`."""

    problems: tuple[Problem, ...]
    reopen_text: str


@dataclass(frozen=True)
class Diff:
    """A valid change, waiting for the user to confirm it with `apply()`."""

    diff: str
    """Unified diff of the live object and the edit, both as YAML."""
    manifest: Object
    """What will be applied."""


@dataclass(frozen=True)
class Applied:
    """Saved: the object as the API server now stores it."""

    object: Object


@dataclass(frozen=True)
class Conflict:
    """The object changed (or vanished) since the editor opened; `reopen_text` shows how."""

    message: str
    reopen_text: str


@dataclass(frozen=True)
class Rejected:
    """The API server refused the change (or could not be reached)."""

    message: str
    reopen_text: str


class SaveRefusedError(Exception):
    """The target did not save the object; the message is for people."""

    def __init__(self, message: str, *, conflict: bool = False, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        """The reason alone; str() is the full detail (a status code, say) when there is one."""
        self.conflict = conflict
        """Someone else changed the object since it was read (its resourceVersion moved)."""


class EditTarget(Protocol):
    """Where edited objects are read and saved."""

    async def get(self, kind: ResourceType, namespace: str, name: str) -> Object | None: ...

    async def create(self, kind: ResourceType, namespace: str, manifest: Object) -> Object:
        """A new object; SaveRefusedError when it exists or is refused."""

    async def update(
        self, kind: ResourceType, namespace: str, live: Object, opened: Object, manifest: Object
    ) -> Object:
        """The object `live` (as `opened` showed it) replaced by `manifest`, which carries the
        resourceVersion it was read at; SaveRefusedError(conflict=True) when that is stale,
        ObjectDeletedError when the object is gone."""


class ObjectDeletedError(Exception):
    """The object was deleted (and would be recreated) while the editor was open."""


class KubeTarget:
    """Objects in the API server, saved with server-side apply."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    async def get(self, kind: ResourceType, namespace: str, name: str) -> Object | None:
        async with self._refusals():
            return await self.kube.get(kind, namespace, name)

    async def create(self, kind: ResourceType, namespace: str, manifest: Object) -> Object:
        """POST, not apply: creating must fail on an existing object, not take it over."""
        metadata = {k: v for k, v in manifest["metadata"].items() if k != "resourceVersion"}
        body = manifest | {"metadata": metadata}
        async with self._refusals():
            await self.kube.create(kind, namespace, body, True, FIELD_MANAGER)
            return await self.kube.create(kind, namespace, body, field_manager=FIELD_MANAGER)

    async def update(
        self, kind: ResourceType, namespace: str, live: Object, opened: Object, manifest: Object
    ) -> Object:
        uid = live["metadata"].get("uid")
        async with self._refusals():
            trial = await self.kube.apply(manifest, FIELD_MANAGER, dry_run=True, force=True)
            if trial["metadata"].get("uid") != uid:  # apply would have created it anew
                raise ObjectDeletedError(f"{kind.kind} {namespace}/{live['metadata']['name']}")
            applied = await self.kube.apply(manifest, FIELD_MANAGER, force=True)
            patch = leftover_patch(opened, manifest, applied)
            if patch is None:
                return applied
            metadata = patch.setdefault("metadata", {})
            metadata["resourceVersion"] = applied["metadata"]["resourceVersion"]
            name = str(manifest["metadata"]["name"])
            return await self.kube.patch(kind, namespace, name, patch, field_manager=FIELD_MANAGER)

    @contextlib.asynccontextmanager
    async def _refusals(self) -> AsyncIterator[None]:
        try:
            yield
        except KubeError as exc:
            raise SaveRefusedError(exc.message, conflict=exc.conflict, detail=str(exc)) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SaveRefusedError(
                f"cannot reach the API server: {exc or type(exc).__name__}"
            ) from None


SubmitOutcome = Cancelled | Invalid | Diff
ApplyOutcome = Applied | Conflict | Rejected


class EditSession:
    """Editing one object (or creating one from a template) until it is saved or abandoned."""

    def __init__(
        self,
        target: EditTarget,
        kind: ResourceType,
        namespace: str,
        live: Object | None,
        text: str,
        show_managed_fields: bool = False,
    ) -> None:
        self.target = target
        self.kind = kind
        self.namespace = namespace
        self.text = text
        """What the editor should show now: the first text, or the last one with its errors."""
        self._live = live
        self._opened = _comparable(live)
        self._pending: Object | None = None
        self._show_managed_fields = show_managed_fields

    @classmethod
    async def open(
        cls,
        target: EditTarget,
        kind: str,
        namespace: str,
        name: str,
        show_managed_fields: bool = False,
    ) -> EditSession:
        """Fetch the live object; SaveRefusedError when it does not exist or cannot be read."""
        resource = BY_KIND[kind]
        live = await target.get(resource, namespace, name)
        if live is None:
            raise SaveRefusedError(f'{kind} "{name}" not found in {namespace}')
        return cls.of(target, live, show_managed_fields)

    @classmethod
    def of(cls, target: EditTarget, live: Object, show_managed_fields: bool = False) -> EditSession:
        """A session on an object already fetched (`open` is fetch, then this)."""
        text = _render(live, show_managed_fields)
        resource = BY_KIND[live["kind"]]
        namespace = str(live["metadata"]["namespace"])
        return cls(target, resource, namespace, live, text, show_managed_fields)

    @classmethod
    def create(cls, target: EditTarget, kind: str, namespace: str) -> EditSession:
        """A session whose save creates a new object, starting from the kind's template."""
        intro = [f"New {kind} in {namespace}. Save to create it; an empty file cancels."]
        text = with_error_header(new_from_template(kind, namespace), intro)
        return cls(target, BY_KIND[kind], namespace, None, text)

    @property
    def creating(self) -> bool:
        return self._live is None

    @property
    def name(self) -> str | None:
        return None if self._live is None else str(self._live["metadata"]["name"])

    def check(self, text: str) -> list[Problem]:
        """Every problem with `text`, lines counted in `text` (for inline validation)."""
        return self._parse(text)[1]

    def submit(self, text: str) -> SubmitOutcome:
        """Check the edited text and, if it changes the object validly, diff it for the user."""
        body = strip_error_header(text)
        self.text = text
        self._pending = None
        if _is_blank(body):
            return Cancelled("the file is empty")
        edited, problems = self._parse(body)
        if edited is None or problems:
            offset = len(problems) + 1  # the header: a summary, then one line per problem
            moved = tuple(replace(p, line=p.line + offset) for p in problems)
            header = [f"Not saved: {len(problems)} problem(s) found before sending."]
            header += [f"line {p.line}: {p.message}" for p in moved]
            return Invalid(moved, self._reopen(body, header))
        if not self.creating and edited == self._opened:
            return Cancelled("no changes")
        self._pending = edited
        diff = unified_diff(self._opened or {}, edited, self._label("live"), self._label("edited"))
        return Diff(diff, edited)

    async def apply(self) -> ApplyOutcome:
        """Dry-run then save the edit `submit()` last returned as a Diff."""
        manifest = self._pending
        if manifest is None:
            raise RuntimeError("apply() needs a Diff from submit() first")
        body = strip_error_header(self.text)
        try:
            if self._live is None or self._opened is None:
                saved = await self.target.create(self.kind, self.namespace, manifest)
            else:
                saved = await self.target.update(
                    self.kind, self.namespace, self._live, self._opened, manifest
                )
        except SaveRefusedError as exc:
            if exc.conflict and not self.creating:
                return await self._conflict(body, exc.message)
            return Rejected(exc.message, self._reopen(body, [f"Not saved: {exc}"]))
        except ObjectDeletedError as exc:
            return await self._conflict(body, f"{exc} was deleted since the editor opened")
        self._live = saved
        self._opened = _comparable(saved)
        self._pending = None
        self.text = _render(saved, self._show_managed_fields)
        return Applied(saved)

    async def _conflict(self, body: str, message: str) -> Conflict:
        """Rebase on the latest object: show what changed there and point the text's
        resourceVersion at it, so saving again is a deliberate overwrite."""
        assert self._live is not None
        try:
            latest = await self.target.get(
                self.kind, self.namespace, self._live["metadata"]["name"]
            )
        except SaveRefusedError as exc:
            return Conflict(message, self._reopen(body, [f"Conflict: {message}", exc.message]))
        if latest is None:
            self._live = self._opened = None
            header = [f"Conflict: {message}", "It no longer exists: saving again creates it."]
            return Conflict(message, self._reopen(body, header))
        view = _comparable(latest)
        assert view is not None
        assert self._opened is not None
        changes = unified_diff(self._opened, view, "", "").splitlines()[2:]
        if len(changes) > MAX_CHANGE_LINES:
            more = len(changes) - MAX_CHANGE_LINES
            changes = [*changes[:MAX_CHANGE_LINES], f"... {more} more lines"]
        header = [
            f"Conflict: {message}",
            "Changed on the server since the editor opened:",
            *(f"  {line}" for line in changes),
            "metadata.resourceVersion below now names that version: save again to apply "
            "your text over those changes.",
        ]
        self._live, self._opened = latest, view
        rebased = _RESOURCE_VERSION.sub(
            rf'\g<1>"{latest["metadata"]["resourceVersion"]}"', body, count=1
        )
        return Conflict(message, self._reopen(rebased, header))

    def _parse(self, text: str) -> tuple[Object | None, list[Problem]]:
        """The object in `text` (namespace filled in) and its problems."""
        try:
            documents = load_documents(text)
        except YamlSyntaxError as exc:
            return None, [Problem(exc.line, f"YAML syntax error (column {exc.column}): {exc}")]
        if len(documents) != 1:
            line = documents[1].line if documents else 1
            return None, [Problem(line, "the text must hold exactly one object")]
        document = documents[0]
        data = document.data
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            data = data | {"metadata": {"namespace": self.namespace} | data["metadata"]}
        data = without_managed_fields(data) if isinstance(data, dict) else data
        problems = [
            Problem(line, f"{format_path(path)}: Duplicate value: key appears twice")
            for path, line in document.duplicate_keys
        ]
        for path, detail in self._identity_errors(data):
            problems.append(Problem(document.line_of(path), detail, format_path(path)))
        if not problems:
            result = validate_resource(data, old=self._live)
            problems = [Problem(document.line_of(e.path), str(e), e.field) for e in result.errors]
        return (data if isinstance(data, dict) else None), problems

    def _identity_errors(self, data: Any) -> list[tuple[tuple[str, ...], str]]:
        """What an edit may not change: the object it is (kubectl edit refuses this too;
        applying a renamed object would create a copy under the new name)."""
        if not isinstance(data, dict):
            return []
        was: Object = self._live or {"kind": self.kind.kind, "metadata": {}}
        was = was | {"metadata": was["metadata"] | {"namespace": self.namespace}}
        errors = []
        for path in _IDENTITY:
            before, after = _get(was, path), _get(data, path)
            if before is not None and after != before:
                errors.append(
                    (
                        path,
                        f"{format_path(path)}: Invalid value: {after!r}: cannot be changed by "
                        f"editing (was {before!r}); create a new object instead",
                    )
                )
        return errors

    def _reopen(self, body: str, messages: Sequence[str]) -> str:
        self.text = with_error_header(body, messages)
        return self.text

    def _label(self, side: str) -> str:
        name = self.name or "(new)"
        return f"{self.kind.kind} {self.namespace}/{name} {side}".rstrip()


def _render(live: Object, show_managed_fields: bool) -> str:
    """The text the editor opens on `live`: its editable view under a short how-to."""
    metadata = live["metadata"]
    intro = [
        f"Editing {live['kind']} {metadata['namespace']}/{metadata['name']}. Lines starting "
        f"with {MARK} are replaced on each save; an empty file or an unchanged object cancels.",
    ]
    if show_managed_fields:
        intro.append("managedFields are shown for reading: changes to them are ignored.")
    return with_error_header(dump_yaml(editable_view(live, show_managed_fields)), intro)


def _comparable(live: Object | None) -> Object | None:
    """The view of `live` an edit is compared and diffed against."""
    return None if live is None else without_managed_fields(editable_view(live))


def _is_blank(text: str) -> bool:
    """Only blank and comment lines (what kubectl edit takes as "cancel")."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _get(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data
