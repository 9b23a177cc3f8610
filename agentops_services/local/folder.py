"""The resource folder: YAML files of the six kinds, kept applied to the object store.

In a cluster, people `kubectl apply` resources; on one machine they edit files. The folder is
read recursively (`*.yaml`, `*.yml`, several documents per file), every document validated by
the models and CEL rules that make the CRDs, so a mistake reads the same as the API server
would say it. Valid objects are applied to the store with their file as source; problems are
kept per file, with line and field, and announced to listeners. An invalid file never stops
the others, and never takes objects away (see `resource_file`). An object whose file is gone
is deleted. One name defined in two files is applied from one of them (the one that had it
first) and the other gets a problem naming both.

Changes are found by polling (`interval`, about a second): stat every file, read and hash only
those whose stat changed; what an editor saves is in effect a moment later, with nothing to
install (inotify is not everywhere, and not on network folders).

`save` and `delete` are the console's editor writing back: the object's YAML replaces its own
document in the file it came from (the file's other documents and comments stay, see
`documents`), or goes to `<kind>/<name>.yaml` when new; validation comes first and an
invalid object is refused with the same problems, nothing written. Objects created through
the platform API (AgentRuns) have no file and are written to the store only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from agentops_services.api.manifests import check_manifests
from agentops_services.api.v1alpha1 import KINDS
from agentops_services.api.yaml_source import dump_yaml
from agentops_services.local.atomic import create_file, replace_file
from agentops_services.local.documents import document_text, remove_document, replace_document
from agentops_services.local.errors import (
    ConflictError,
    FileProblem,
    InvalidManifestError,
    NotFoundError,
    PlatformError,
)
from agentops_services.local.folder_scan import StatKey, read_limited, scan_folder
from agentops_services.local.kinds import Key, Object
from agentops_services.local.objects import API_SOURCE, ObjectStore, check_resource_version
from agentops_services.local.resource_file import (
    ResourceFile,
    file_form,
    parse_resource_file,
    unloadable_file,
)

LOG = logging.getLogger(__name__)
FILE_SOURCE = "file:"
"""Prefix of the store source of an object from a file: `file:<path in the folder>`."""
POLL_INTERVAL = 1.0
MAX_FILES = 5000
MAX_FILE_BYTES = 1024 * 1024
NEW_FILE_MODE = 0o644
REQUEST = "<request>"
"""The `path` of problems with a text that is not (yet) a file: what the editor sent."""

ProblemsListener = Callable[[list[FileProblem]], None]


class ResourceFolder:
    """A folder of resource files applied to `store`; `start()` loads it and follows it."""

    def __init__(
        self,
        path: Path,
        store: ObjectStore,
        *,
        interval: float = POLL_INTERVAL,
        max_files: int = MAX_FILES,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.path = path
        self.store = store
        self.interval = interval
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self._stats: dict[str, StatKey] = {}
        self._files: dict[str, ResourceFile] = {}
        self._clashes: list[FileProblem] = []
        """Problems between files (one name in two files), found when applying."""
        self._truncated = False
        self._missing = False
        self._synced = False
        """Applied once: the first pass also deletes objects of files gone while stopped."""
        self._problems: list[FileProblem] = []
        self._listeners: list[ProblemsListener] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- following the folder --------------------------------------------------------

    async def start(self) -> None:
        """Load the folder (returns once it is applied), then follow it."""
        self.path.mkdir(parents=True, exist_ok=True)
        await self.sync()
        self._task = asyncio.create_task(self._poll(), name="resource folder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sync()
            except Exception:
                LOG.exception("reading the resource folder %s failed", self.path)

    async def sync(self) -> None:
        """One pass: apply what changed on disk since the last."""
        async with self._lock:
            scan = await asyncio.to_thread(
                scan_folder, self.path, dict(self._stats), self.max_files, self.max_file_bytes
            )
            if scan.missing != self._missing:
                self._missing = scan.missing
                self._publish()
            if scan.missing:
                return  # a folder that is gone as a whole deletes nothing
            gone = set(self._stats) - set(scan.stats)
            self._stats = scan.stats
            changed = self._take(scan.contents)
            for rel in gone:
                changed |= self._files.pop(rel, None) is not None
            if changed or scan.truncated != self._truncated or not self._synced:
                self._truncated = scan.truncated
                self._synced = True
                await self._apply()

    async def _refresh(self, rel: str) -> None:
        """Read one file now (after writing it), without waiting for the next pass."""
        path = self.path / rel
        try:
            st = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            self._stats.pop(rel, None)
            self._files.pop(rel, None)
        else:
            self._stats[rel] = (st.st_mtime_ns, st.st_size, st.st_ino)
            self._take({rel: await asyncio.to_thread(read_limited, path, self.max_file_bytes)})
        await self._apply()

    def _take(self, contents: Mapping[str, bytes | str]) -> bool:
        """Parse the files whose content changed; whether any did."""
        changed = False
        stored: dict[str, dict[Key, Object]] | None = None
        for rel, content in sorted(contents.items()):
            previous = self._files.get(rel)
            if previous is None:
                stored = self._stored_by_file() if stored is None else stored
                previous = ResourceFile(objects=stored.get(rel, {}))
            if isinstance(content, str):
                self._files[rel] = unloadable_file(rel, "", previous, content)
                changed = True
                continue
            digest = hashlib.sha256(content).hexdigest()
            if digest == previous.digest:
                continue
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"the file is not UTF-8 text ({exc.reason})"
                parsed = unloadable_file(rel, digest, previous, reason)
            else:
                parsed = parse_resource_file(rel, text, previous.objects, self._stored_defaulted)
                parsed.digest = digest
            self._files[rel] = parsed
            changed = True
        return changed

    def _stored_by_file(self) -> dict[str, dict[Key, Object]]:
        """What the store holds from each file: for a file not read yet in this process (after
        a restart), the last valid objects, which stay should the file now be invalid."""
        by_file: dict[str, dict[Key, Object]] = {}
        for key, source in self.store.sources().items():
            rel = _file_in(source)
            if rel is not None and (obj := self.store.get(*key)) is not None:
                by_file.setdefault(rel, {})[key] = obj
        return by_file

    def _stored_defaulted(self, kind: str, name: str) -> Mapping[str, Any] | None:
        """The stored object from a file, defaults applied (for CEL transition rules)."""
        obj = self.store.get(kind, name)
        if obj is None or _file_in(self.store.source_of(kind, name)) is None:
            return None
        try:
            return KINDS[kind].model_validate(obj).to_defaulted()
        except ValueError:
            return None

    async def _apply(self) -> None:
        """Bring the store in line with the files and publish the problems."""
        owners, clashes = self._owners()
        for key, rel in owners.items():
            try:
                await self.store.apply(self._files[rel].objects[key], source=FILE_SOURCE + rel)
            except PlatformError as exc:
                clashes.append(
                    FileProblem(
                        rel, self._files[rel].lines.get(key, 1), exc.field or "", exc.message
                    )
                )
        for key, source in self.store.sources().items():
            if _file_in(source) is not None and key not in owners:
                with contextlib.suppress(NotFoundError):
                    await self.store.delete(*key)
        self._clashes = clashes
        self._publish()

    def _owners(self) -> tuple[dict[Key, str], list[FileProblem]]:
        """The file each object is applied from, and the problems of names claimed twice."""
        claims: dict[Key, list[str]] = {}
        for rel in sorted(self._files):
            for key in self._files[rel].objects:
                claims.setdefault(key, []).append(rel)
        owners: dict[Key, str] = {}
        clashes: list[FileProblem] = []
        for key, rels in claims.items():
            label = f"{key[0]}/{key[1]}"
            source = self.store.source_of(*key)
            if source == API_SOURCE:
                clashes.extend(
                    FileProblem(rel, self._files[rel].lines.get(key, 1), "metadata.name",
                                f"{label} already exists (created through the platform API): "
                                "this definition is ignored")
                    for rel in rels
                )  # fmt: skip
                continue
            owner = current if (current := _file_in(source)) in rels else rels[0]
            owners[key] = owner
            clashes.extend(
                FileProblem(rel, self._files[rel].lines.get(key, 1), "metadata.name",
                            f"{label} is defined in both {owner} and {rel}: the one in {rel} is "
                            "ignored")
                for rel in rels
                if rel != owner
            )  # fmt: skip
        return owners, clashes

    # --- problems --------------------------------------------------------------------

    def problems(self) -> list[FileProblem]:
        """Every problem of every file, by file and line."""
        return list(self._problems)

    def listen(self, listener: ProblemsListener) -> Callable[[], None]:
        """Call `listener` with all problems whenever they change; returns the function that
        stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _publish(self) -> None:
        problems = [p for rel in sorted(self._files) for p in self._files[rel].problems]
        problems.extend(self._clashes)
        if self._truncated:
            problems.append(
                FileProblem(".", 0, "", f"more than {self.max_files} resource files: only the "
                            f"first {self.max_files} are loaded")
            )  # fmt: skip
        if self._missing:
            problems.append(
                FileProblem(".", 0, "", f"the resource folder {self.path} is missing: what was "
                            "loaded from it stays in effect until it is back")
            )  # fmt: skip
        problems.sort(key=lambda p: (p.path, p.line))
        if problems == self._problems:
            return
        self._problems = problems
        for listener in list(self._listeners):
            try:
                listener(list(problems))
            except Exception:
                LOG.exception("a resource folder listener failed")

    def file_of(self, kind: str, name: str) -> Path | None:
        """The file an object comes from, or None (no file: created through the API)."""
        rel = _file_in(self.store.source_of(kind, name))
        return self.path / rel if rel is not None else None

    # --- writing back ----------------------------------------------------------------

    async def save(self, resource: str | Mapping[str, Any], *, key: Key | None = None) -> Object:
        """Validate one resource (YAML or JSON text, or data) and write it where it belongs;
        the stored object after.

        Refusals: InvalidManifestError with every problem (lines of the given text, path
        `REQUEST`); ConflictError when its `metadata.resourceVersion` is stale, or its file
        cannot be edited now; PlatformError when the text holds no or several resources, or
        not the one `key` names.
        """
        text = resource if isinstance(resource, str) else dump_yaml(dict(resource))
        async with self._lock:
            wire, expected = self._validated(text, key)
            key = (wire["kind"], wire["metadata"]["name"])
            check_resource_version(key, self.store.get(*key), expected)
            source = self.store.source_of(*key)
            if source == API_SOURCE:
                return await self.store.apply(wire, source=API_SOURCE, expected_version=expected)
            rel = _file_in(source) or _new_file(*key)
            old = self._files.get(rel, ResourceFile()).objects.get(key, {})
            form = file_form(wire, (old.get("metadata") or {}).get("namespace"))
            # Text that is already a file's document goes in as written, comments and all.
            document = (document_text(text) if form == wire else None) or dump_yaml(form)
            await asyncio.to_thread(self._write_document, rel, key, document, source is not None)
            await self._refresh(rel)
            stored = self.store.get(*key)
            if stored is None or self.store.source_of(*key) != FILE_SOURCE + rel:
                raise ConflictError(self._why_not_applied(rel, key))
            return stored

    def _validated(self, text: str, key: Key | None) -> tuple[Object, str | None]:
        """The one resource of `text` as written and the resourceVersion it names."""
        reports, syntax = check_manifests(text, self._stored_defaulted)
        problems = [FileProblem(REQUEST, p.line, p.field, p.message) for p in syntax]
        for report in reports:
            if report.foreign:
                problems.append(
                    FileProblem(
                        REQUEST,
                        report.line,
                        "apiVersion",
                        f"{report.label} is not an AgentOps resource",
                    )
                )
            problems.extend(FileProblem(REQUEST, e.line, e.field, e.message) for e in report.errors)
        if problems:
            raise InvalidManifestError(problems)
        if len(reports) != 1 or reports[0].resource is None:
            raise PlatformError(f"expected one resource, found {len(reports)}")
        resource = reports[0].resource
        if key is not None and key[0] != resource.kind_name():
            raise PlatformError(f"kind is {resource.kind_name()}, expected {key[0]}", "kind")
        if key is not None and key[1] != resource.name:
            raise PlatformError(
                f"metadata.name is {resource.name!r}, expected {key[1]!r}", "metadata.name"
            )
        return reports[0].data, resource.metadata.resource_version

    def _write_document(self, rel: str, key: Key, document: str, existing: bool) -> None:
        path = self.path / rel
        if existing:
            with _editing(rel):
                text = replace_document(path.read_text(encoding="utf-8"), key, document)
            replace_file(path, text.encode(), path.stat().st_mode & 0o777)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if not create_file(path, document.rstrip("\n").encode() + b"\n", NEW_FILE_MODE):
            raise ConflictError(
                f"{rel} already exists and does not define {key[0]}/{key[1]}: "
                "add the resource to it, or move the file away",
                "metadata.name",
            )

    def _why_not_applied(self, rel: str, key: Key) -> str:
        mine = [p for p in self.problems() if p.path == rel and p.severity == "error"]
        reason = mine[0].message if mine else "it was not applied"
        return f"{key[0]}/{key[1]} was written to {rel}, but {reason}"

    async def delete(self, kind: str, name: str, *, expected_version: str | None = None) -> Object:
        """Delete an object: its document leaves its file (the file goes when it was the
        last), or, created through the API, it leaves the store. Its last state."""
        async with self._lock:
            current = self.store.get(kind, name)
            if current is None:
                raise NotFoundError(f"{kind} {name!r} not found", "name")
            check_resource_version((kind, name), current, expected_version)
            rel = _file_in(self.store.source_of(kind, name))
            if rel is None:
                return await self.store.delete(kind, name, expected_version=expected_version)
            await asyncio.to_thread(self._remove_document, rel, (kind, name))
            await self._refresh(rel)
            if self.store.get(kind, name) is not None:
                raise ConflictError(self._why_not_applied(rel, (kind, name)))
            return current

    def _remove_document(self, rel: str, key: Key) -> None:
        path = self.path / rel
        with _editing(rel):
            rest = remove_document(path.read_text(encoding="utf-8"), key)
        if rest is None:
            path.unlink()
        else:
            replace_file(path, rest.encode(), path.stat().st_mode & 0o777)


def _file_in(source: str | None) -> str | None:
    """The file (path in the folder) a store source names; None for an object from no file."""
    if source is None or not source.startswith(FILE_SOURCE):
        return None
    return source.removeprefix(FILE_SOURCE)


def _new_file(kind: str, name: str) -> str:
    return f"{kind.lower()}/{name}.yaml"


@contextlib.contextmanager
def _editing(rel: str) -> Iterator[None]:
    """Reading a file and finding its documents: ConflictError when they cannot be found."""
    try:
        yield
    except FileNotFoundError:
        raise ConflictError(f"{rel} was removed meanwhile") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConflictError(f"{rel} cannot be edited now ({exc}): fix the file first") from None
