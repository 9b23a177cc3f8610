"""The file tools: read, write, edit and ls. Every path goes through the workspace, so
allowedPaths confinement holds for all of them; every refusal is a result the model can read."""

from __future__ import annotations

import asyncio
import difflib
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool
from agentops_services.runtime.tools.workspace import ConfinementError, Workspace, language_of

DEFAULT_READ_LINES = 2000
MAX_READ_BYTES = 64 * 1024 * 1024
MAX_LS_ENTRIES = 1000


class Arguments(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")


@dataclass
class FileTool:
    """Base of the tools that act on the workspace's files."""

    workspace: Workspace

    def path(self, raw: str) -> Path:
        return self.workspace.resolve(raw or ".")


class ReadArguments(Arguments):
    path: str
    """File to read (relative to the workspace, or absolute)."""
    offset: int | None = Field(None, ge=1)
    """First line to return, 1-based."""
    limit: int | None = Field(None, ge=1)
    """How many lines to return (default 2000)."""


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head[:8192]


@dataclass
class ReadTool(FileTool, TypedTool[ReadArguments]):
    name: ClassVar[str] = "read"
    description: ClassVar[str] = (
        "Read a text file. Returns up to 2000 lines; use offset and limit for the rest."
    )
    arguments: ClassVar[type[BaseModel]] = ReadArguments
    parallel_safe: ClassVar[bool] = True
    ui: ClassVar[str | None] = "code"

    async def call(self, arguments: ReadArguments, context: ToolContext) -> ToolOutcome:
        try:
            path = self.path(arguments.path)
        except ConfinementError as exc:
            return ToolOutcome.error(str(exc))
        return await asyncio.to_thread(self._read, path, arguments)

    def _read(self, path: Path, arguments: ReadArguments) -> ToolOutcome:
        try:
            info = path.stat()
            if stat.S_ISDIR(info.st_mode):
                return ToolOutcome.error(f"{arguments.path} is a directory; use ls")
            if not stat.S_ISREG(info.st_mode):
                # A FIFO blocks for ever and /dev/zero never ends: only regular files.
                return ToolOutcome.error(f"{arguments.path} is not a regular file")
            if info.st_size > MAX_READ_BYTES:
                return ToolOutcome.error(f"{arguments.path} is larger than {MAX_READ_BYTES} bytes")
            data = path.read_bytes()
        except OSError as exc:
            return ToolOutcome.error(f"cannot read {arguments.path}: {exc.strerror or exc}")
        if _is_binary(data):
            return ToolOutcome.error(f"{arguments.path} is a binary file")
        lines = data.decode(errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        start = (arguments.offset or 1) - 1
        count = arguments.limit or DEFAULT_READ_LINES
        shown = lines[start : start + count]
        text = "\n".join(shown)
        if start and start >= len(lines):
            text = f"[offset {start + 1} is past the end of the file ({len(lines)} lines)]"
        elif start + count < len(lines):
            text += (
                f"\n\n[showing lines {start + 1}-{start + len(shown)} of {len(lines)};"
                " use offset and limit for more]"
            )
        metadata = {
            "filePath": str(path),
            "offset": arguments.offset,
            "limit": arguments.limit,
            "language": language_of(path),
            "lineCount": len(shown),
            "totalLines": len(lines),
        }
        return ToolOutcome(text, metadata=metadata)


class WriteArguments(Arguments):
    path: str
    """File to create or overwrite."""
    content: str
    """The whole new content."""


@dataclass
class WriteTool(FileTool, TypedTool[WriteArguments]):
    name: ClassVar[str] = "write"
    description: ClassVar[str] = (
        "Create or overwrite a file with the given content (parent directories are created)."
    )
    arguments: ClassVar[type[BaseModel]] = WriteArguments
    ui: ClassVar[str | None] = "file-created"

    async def call(self, arguments: WriteArguments, context: ToolContext) -> ToolOutcome:
        try:
            path = self.path(arguments.path)
        except ConfinementError as exc:
            return ToolOutcome.error(str(exc))
        data = arguments.content.encode()
        try:
            await asyncio.to_thread(_write, path, data)
        except OSError as exc:
            return ToolOutcome.error(f"cannot write {arguments.path}: {exc.strerror or exc}")
        metadata = {"filePath": str(path), "size": len(data), "language": language_of(path)}
        return ToolOutcome(f"Wrote {len(data)} bytes to {arguments.path}", metadata=metadata)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class Edit(Arguments):
    old_text: str = Field(alias="oldText", min_length=1)
    """Exact text to replace; it must occur exactly once in the file."""
    new_text: str = Field(alias="newText")
    """Replacement text."""


class EditArguments(Arguments):
    path: str
    """File to edit."""
    edits: list[Edit] = Field(min_length=1)
    """Replacements, applied in order; the file is written only if all of them apply."""


def _preview(text: str) -> str:
    return text[:80] + ("…" if len(text) > 80 else "")


@dataclass
class EditTool(FileTool, TypedTool[EditArguments]):
    name: ClassVar[str] = "edit"
    description: ClassVar[str] = (
        "Replace exact text in a file. Each oldText must match exactly once (include enough "
        "surrounding lines to make it unique). Returns a unified diff of the change."
    )
    arguments: ClassVar[type[BaseModel]] = EditArguments
    ui: ClassVar[str | None] = "diff"

    async def call(self, arguments: EditArguments, context: ToolContext) -> ToolOutcome:
        try:
            path = self.path(arguments.path)
        except ConfinementError as exc:
            return ToolOutcome.error(str(exc))
        before = await asyncio.to_thread(_read_text, path, arguments.path)
        if isinstance(before, ToolOutcome):
            return before
        after = before
        for index, edit in enumerate(arguments.edits):
            found = _occurrences(after, edit.old_text)
            if found != 1:
                problem = "not found in file" if found == 0 else "matches multiple locations"
                return ToolOutcome.error(
                    f"edits[{index}].oldText {problem}: {_preview(edit.old_text)!r}; "
                    "nothing was written"
                )
            after = after.replace(edit.old_text, edit.new_text, 1)
        try:
            # Bytes, so that line endings are written back exactly as they were.
            await asyncio.to_thread(path.write_bytes, after.encode())
        except OSError as exc:
            return ToolOutcome.error(f"cannot write {arguments.path}: {exc.strerror or exc}")
        diff = unified_diff(before, after, self.workspace.display(path))
        count = len(arguments.edits)
        metadata = {"filePath": str(path), "editCount": count, "diff": diff}
        return ToolOutcome(
            f"Applied {count} edit(s) to {arguments.path}\n\n{diff}", metadata=metadata
        )


def _read_text(path: Path, shown: str) -> str | ToolOutcome:
    """The file's text, undecoded newlines kept (`\r\n` stays), or why it cannot be edited."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        return ToolOutcome.error(f"cannot edit {shown}: it is a directory")
    except OSError as exc:
        return ToolOutcome.error(f"cannot read {shown}: {exc.strerror or exc}")
    if _is_binary(data):
        return ToolOutcome.error(f"cannot edit {shown}: it is a binary file")
    try:
        return data.decode()
    except UnicodeDecodeError:
        return ToolOutcome.error(f"cannot edit {shown}: it is not UTF-8 text")


def _occurrences(text: str, sub: str) -> int:
    """0, 1, or 2 for "more than one", overlapping matches included ("aa" twice in "aaa")."""
    first = text.find(sub)
    if first < 0:
        return 0
    return 1 if text.find(sub, first + 1) < 0 else 2


def unified_diff(before: str, after: str, shown: str) -> str:
    """A unified diff of the change; a last line without a newline is marked as git does
    (difflib would glue it to the next line of the diff)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"a/{shown}",
        f"b/{shown}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


class LsArguments(Arguments):
    path: str = "."
    """Directory to list (default: the workspace)."""


@dataclass
class LsTool(FileTool, TypedTool[LsArguments]):
    name: ClassVar[str] = "ls"
    description: ClassVar[str] = "List a directory: mode, size and name of each entry."
    arguments: ClassVar[type[BaseModel]] = LsArguments
    parallel_safe: ClassVar[bool] = True
    ui: ClassVar[str | None] = "file-tree"

    async def call(self, arguments: LsArguments, context: ToolContext) -> ToolOutcome:
        try:
            path = self.path(arguments.path)
        except ConfinementError as exc:
            return ToolOutcome.error(str(exc))
        try:
            lines, total = await asyncio.to_thread(_listing, path)
        except OSError as exc:
            return ToolOutcome.error(f"cannot list {arguments.path}: {exc.strerror or exc}")
        text = "\n".join(lines)
        if total > len(lines):
            text += f"\n[{total - len(lines)} more entries not shown]"
        return ToolOutcome(
            text or "(empty directory)", metadata={"path": str(path), "entryCount": total}
        )


def _listing(path: Path) -> tuple[list[str], int]:
    entries = sorted(path.iterdir(), key=lambda p: p.name)
    lines = []
    for entry in entries[:MAX_LS_ENTRIES]:
        try:
            info = entry.lstat()
        except OSError:
            continue
        suffix = "/" if stat.S_ISDIR(info.st_mode) else ""
        lines.append(f"{stat.filemode(info.st_mode)} {info.st_size:>8} {entry.name}{suffix}")
    return lines, len(entries)
