"""The tools that run programs: bash, and grep and glob on ripgrep (regex, .gitignore, fast on
large trees; upstream's glob matched basenames only and its grep hid rg's errors)."""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool
from agentops_services.runtime.tools.files import Arguments, FileTool
from agentops_services.runtime.tools.processes import Finished, run_captured
from agentops_services.runtime.tools.workspace import ConfinementError

DEFAULT_BASH_TIMEOUT = 120
MAX_BASH_TIMEOUT = 600
MAX_OUTPUT_BYTES = 256 * 1024
SEARCH_TIMEOUT = 60.0
MAX_GLOB_PATHS = 1000
MAX_LIST_BYTES = 64 * 1024 * 1024
"""How much of the file listing glob reads (about a million paths)."""


def ripgrep() -> str:
    """The `rg` binary: on PATH, or beside this Python (the ripgrep wheel installs it there)."""
    found = shutil.which("rg") or shutil.which("rg", path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError("ripgrep (rg) is not installed")
    return found


RG_COMMON = ("--hidden", "--glob=!.git", "--no-require-git", "--no-config")
"""Hidden files are searched, .git never; .gitignore applies whether or not the directory is
a git repository (rg's default needs one); no user's ripgreprc changes the output."""


def _text(finished: Finished, what: str) -> str:
    text = finished.output.decode(errors="replace")
    if finished.truncated:
        text += f"\n[{what} truncated: {finished.truncated} more bytes not shown]"
    return text


def _prefixed(output: bytes, prefix: str) -> bytes:
    """rg's lines (paths relative to where it ran) with `prefix` joined in front, so that every
    path works as the `path` of read or edit."""
    if prefix in ("", "."):
        return output
    head = prefix.rstrip("/").encode() + b"/"
    return b"\n".join(head + line if line else line for line in output.split(b"\n"))


class BashArguments(Arguments):
    command: str = Field(min_length=1)
    """The command line, run by bash in the workspace."""
    timeout: int | None = Field(None, ge=1, le=MAX_BASH_TIMEOUT)
    """Seconds before the command and everything it started are killed (default 120)."""


@dataclass
class BashTool(FileTool, TypedTool[BashArguments]):
    name: ClassVar[str] = "bash"
    description: ClassVar[str] = (
        "Run a bash command in the workspace; stdout and stderr are returned together. "
        "A non-zero exit status is reported as an error. Prefer read, grep and glob to "
        "inspect files."
    )
    arguments: ClassVar[type[BaseModel]] = BashArguments
    ui: ClassVar[str | None] = "terminal"
    blocked: tuple[str, ...] = field(default=())
    """Command patterns refused (toolHooks.blockedCommands: substrings)."""

    async def call(self, arguments: BashArguments, context: ToolContext) -> ToolOutcome:
        command = arguments.command
        pattern = next((p for p in self.blocked if p and p in command), None)
        metadata: dict[str, Any] = {"command": command, "cwd": str(self.workspace.root)}
        if pattern is not None:
            return ToolOutcome.error(
                f"Blocked command pattern: {pattern}", blocked=pattern, **metadata
            )
        timeout = arguments.timeout or DEFAULT_BASH_TIMEOUT
        finished = await run_captured(
            ["bash", "-c", command],
            cwd=self.workspace.root,
            env=self.workspace.environment(),
            timeout=timeout,
            max_output=MAX_OUTPUT_BYTES,
        )
        text = _text(finished, "output")
        metadata["exitCode"] = finished.exit_code
        if finished.timed_out:
            return ToolOutcome.error(
                f"{text}\n[killed after {timeout} s: the command and its children]", **metadata
            )
        if finished.exit_code != 0:
            return ToolOutcome.error(f"{text}\n[exit code {finished.exit_code}]", **metadata)
        return ToolOutcome(text, metadata=metadata)


class GrepArguments(Arguments):
    pattern: str = Field(min_length=1)
    """Regular expression (Rust regex syntax, like ripgrep)."""
    path: str = "."
    """File or directory to search (default: the workspace)."""
    include: str | None = None
    """Only files matching this glob, e.g. *.py."""
    ignore_case: bool = False
    """Match case-insensitively."""


@dataclass
class GrepTool(FileTool, TypedTool[GrepArguments]):
    name: ClassVar[str] = "grep"
    description: ClassVar[str] = (
        "Search file contents with a regular expression (ripgrep): prints path:line:text for "
        "each match. Files ignored by .gitignore are skipped."
    )
    arguments: ClassVar[type[BaseModel]] = GrepArguments
    parallel_safe: ClassVar[bool] = True
    ui: ClassVar[str | None] = "search-results"

    async def call(self, arguments: GrepArguments, context: ToolContext) -> ToolOutcome:
        try:
            root = self.path(arguments.path)
            rg = ripgrep()
        except (ConfinementError, FileNotFoundError) as exc:
            return ToolOutcome.error(str(exc))
        metadata: dict[str, Any] = {"pattern": arguments.pattern, "path": str(root)}
        if not root.exists():
            return ToolOutcome.error(f"{arguments.path} does not exist", **metadata)
        argv = [rg, *RG_COMMON, "--line-number", "--no-heading", "--color=never",
                "--max-columns=400", "--max-columns-preview"]  # fmt: skip
        if arguments.ignore_case:
            argv.append("--ignore-case")
        if arguments.include:
            argv.append(f"--glob={arguments.include}")
        argv += ["--regexp", arguments.pattern]
        # A directory is searched from inside (so `include` globs are relative to it), a file
        # by its name; paths in the output are then made relative to the workspace.
        directory = root.is_dir()
        if not directory:
            argv += ["--", root.name]
        finished = await run_captured(
            argv,
            cwd=root if directory else root.parent,
            env=self.workspace.environment(),
            timeout=SEARCH_TIMEOUT,
            max_output=MAX_OUTPUT_BYTES,
            merge_stderr=False,
            stop_at_cap=True,
        )
        if finished.timed_out:
            return ToolOutcome.error(f"grep took longer than {SEARCH_TIMEOUT:g} s", **metadata)
        if finished.exit_code == 2 and not finished.output:
            return ToolOutcome.error(f"grep failed: {finished.errors.strip()}", **metadata)
        output = finished.output
        if finished.truncated:
            output = output[: output.rfind(b"\n") + 1]  # no half line at the cap
        if directory:
            output = _prefixed(output, self.workspace.display(root))
        text = output.decode(errors="replace")
        metadata["matchCount"] = output.count(b"\n")
        if finished.truncated:
            metadata["truncated"] = True
            text += (
                f"\n[output capped at {MAX_OUTPUT_BYTES // 1024} KiB: more matches not shown; "
                "narrow the pattern, path or include]"
            )
        return ToolOutcome(text or "No matches found.", metadata=metadata)


class GlobArguments(Arguments):
    pattern: str = Field(min_length=1)
    """Glob over paths relative to `path`, e.g. **/*.py or src/*/test_*.py; without a / it
    matches file names at any depth."""
    path: str = "."
    """Directory to search (default: the workspace)."""


def _glob_part(pattern: str) -> str:
    """The regular expression of a glob: ** any depth, * and ? within a name, [abc], {a,b}."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body[0] in "!^" else body) + "]")
            i = end + 1
        elif char == "{" and (end := pattern.find("}", i)) > 0:
            options = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(_glob_part(o) for o in options) + ")")
            i = end + 1
        elif char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def glob_matcher(pattern: str) -> re.Pattern[str]:
    """Matches relative paths (with /) against `pattern`, anchored at the searched directory
    when the pattern has a /, any file name at any depth when it has none."""
    pattern = pattern.removeprefix("./").rstrip("/")
    if "/" in pattern:
        return re.compile(_glob_part(pattern.lstrip("/")), re.DOTALL)
    return re.compile("(?:.*/)?" + _glob_part(pattern), re.DOTALL)


@dataclass
class GlobTool(FileTool, TypedTool[GlobArguments]):
    name: ClassVar[str] = "glob"
    description: ClassVar[str] = (
        "Find files whose path matches a glob (** for any depth), e.g. **/*.go. "
        "Files ignored by .gitignore are skipped."
    )
    arguments: ClassVar[type[BaseModel]] = GlobArguments
    parallel_safe: ClassVar[bool] = True
    ui: ClassVar[str | None] = "file-tree"

    async def call(self, arguments: GlobArguments, context: ToolContext) -> ToolOutcome:
        try:
            root = self.path(arguments.path)
            rg = ripgrep()
            matcher = glob_matcher(arguments.pattern)
        except (ConfinementError, FileNotFoundError) as exc:
            return ToolOutcome.error(str(exc))
        except re.error as exc:
            return ToolOutcome.error(f"invalid glob {arguments.pattern!r}: {exc}")
        if not root.is_dir():
            return ToolOutcome.error(f"{arguments.path} is not a directory")
        # rg lists what is not ignored and the pattern is matched here: given to rg as a
        # --glob it would override .gitignore (`**/*` or `*` would list ignored directories).
        finished = await run_captured(
            [rg, "--files", *RG_COMMON],
            cwd=root,
            env=self.workspace.environment(),
            timeout=SEARCH_TIMEOUT,
            max_output=MAX_LIST_BYTES,
            merge_stderr=False,
            stop_at_cap=True,
        )
        listing = finished.output.decode(errors="replace").split("\n")
        if finished.truncated:
            listing.pop()  # a half path at the cap
        paths = sorted(p for p in listing if p and matcher.fullmatch(p))
        shown = self.workspace.display(root)
        prefix = "" if shown == "." else shown.rstrip("/") + "/"
        metadata: dict[str, Any] = {
            "pattern": arguments.pattern,
            "path": str(root),
            "count": len(paths),
        }
        if finished.timed_out:
            return ToolOutcome.error(f"glob took longer than {SEARCH_TIMEOUT:g} s", **metadata)
        if finished.exit_code == 2 and not paths:
            return ToolOutcome.error(f"glob failed: {finished.errors.strip()}", **metadata)
        if not paths:
            return ToolOutcome("No files matched.", metadata=metadata)
        text = "\n".join(prefix + p for p in paths[:MAX_GLOB_PATHS])
        if len(paths) > MAX_GLOB_PATHS:
            metadata["truncated"] = True
            text += (
                f"\n[{len(paths) - MAX_GLOB_PATHS} more files matched, not shown; "
                "narrow the pattern or path]"
            )
        if finished.truncated:
            metadata["truncated"] = True
            text += "\n[the tree is too large to list whole; narrow the path]"
        return ToolOutcome(text, metadata=metadata)
