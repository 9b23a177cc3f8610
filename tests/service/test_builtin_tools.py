"""The built-in tools for real: bash runs bash, grep and glob run ripgrep, the file tools touch
files in tmp_path and fetch talks HTTP to a server on 127.0.0.1. Every refusal and failure must
come back as an error result the model can read."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool
from agentops_services.runtime.tools import web
from agentops_services.runtime.tools.builtin import BUILTIN_TOOLS, builtin_tools
from agentops_services.runtime.tools.files import (
    DEFAULT_READ_LINES,
    EditTool,
    LsTool,
    ReadTool,
    WriteTool,
)
from agentops_services.runtime.tools.shell import (
    MAX_OUTPUT_BYTES,
    BashTool,
    GlobTool,
    GrepTool,
)
from agentops_services.runtime.tools.web import MAX_FETCH_BYTES, FetchTool
from agentops_services.runtime.tools.workspace import Workspace
from tests.conftest import eventually

CONTEXT = ToolContext(call_id="c1", tool_name="tool", session_id="s", emit=lambda _event: None)


async def run(tool: TypedTool[Any], **arguments: Any) -> ToolOutcome:
    return await tool.run(arguments, CONTEXT)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "work"
    root.mkdir()
    return Workspace.create(root)


def is_gone(pid: int) -> bool:
    """The process no longer runs. A zombie counts as gone: it is dead, and whether anyone
    reaps orphans (PID 1 here may not) is not the tool's business."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


async def wait_until_gone(pid: int, timeout: float = 10.0) -> None:
    async def check() -> None:
        assert is_gone(pid), f"process {pid} still runs"

    try:
        await eventually(check, timeout=timeout)
    except AssertionError:
        os.kill(pid, 9)  # leave nothing behind, then fail
        raise


async def read_pid(pidfile: Path) -> int:
    async def attempt() -> int:
        text = await asyncio.to_thread(pidfile.read_text)
        return int(text.strip())

    return await eventually(attempt)


# --- bash ---------------------------------------------------------------------------------


async def test_bash_returns_output_with_command_exit_code_and_cwd(workspace: Workspace) -> None:
    outcome = await run(BashTool(workspace), command="echo out; echo err >&2; pwd")
    assert not outcome.is_error
    assert outcome.output == f"out\nerr\n{workspace.root}\n"
    assert outcome.metadata == {
        "command": "echo out; echo err >&2; pwd",
        "exitCode": 0,
        "cwd": str(workspace.root),
    }


async def test_bash_non_zero_exit_is_an_error_naming_the_code(workspace: Workspace) -> None:
    outcome = await run(BashTool(workspace), command="echo partial; exit 3")
    assert outcome.is_error
    assert outcome.output == "partial\n\n[exit code 3]"
    assert outcome.metadata["exitCode"] == 3


async def test_bash_honours_its_timeout_and_kills_the_background_grandchild(
    workspace: Workspace,
) -> None:
    pidfile = workspace.root / "pid"
    started = time.monotonic()
    outcome = await run(
        BashTool(workspace), command=f"sleep 300 & echo $! > {pidfile}; sleep 300", timeout=1
    )
    assert time.monotonic() - started < 10
    assert outcome.is_error
    assert "[killed after 1 s" in outcome.output
    assert outcome.metadata["exitCode"] is None
    await wait_until_gone(await read_pid(pidfile))


async def test_bash_timeout_kills_a_child_that_ignores_sigterm(workspace: Workspace) -> None:
    """The shell dies of SIGTERM at once; its child that ignores SIGTERM must get SIGKILL."""
    pidfile = workspace.root / "pid"
    command = f"(trap '' TERM; exec sleep 300) >/dev/null 2>&1 & echo $! > {pidfile}; sleep 300"
    outcome = await run(BashTool(workspace), command=command, timeout=1)
    assert outcome.is_error
    await wait_until_gone(await read_pid(pidfile))


async def test_cancelling_bash_kills_the_whole_process_group(workspace: Workspace) -> None:
    pidfile = workspace.root / "pid"
    call = asyncio.create_task(
        run(BashTool(workspace), command=f"sleep 300 & echo $! > {pidfile}; sleep 300")
    )
    grandchild = await read_pid(pidfile)
    assert not is_gone(grandchild)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await wait_until_gone(grandchild)


async def test_bash_started_background_job_returns_promptly_and_does_not_linger(
    workspace: Workspace,
) -> None:
    """`nohup sleep &` keeps the output pipe open; the call must not wait for it."""
    pidfile = workspace.root / "pid"
    started = time.monotonic()
    outcome = await run(
        BashTool(workspace), command=f"nohup sleep 300 & echo $! > {pidfile}; echo started"
    )
    assert time.monotonic() - started < 5
    assert not outcome.is_error
    assert outcome.output.startswith("started")
    await wait_until_gone(await read_pid(pidfile))


async def test_bash_keeps_output_background_children_write_shortly_after_exit(
    workspace: Workspace,
) -> None:
    outcome = await run(BashTool(workspace), command="(sleep 0.1; echo late) & echo early")
    assert outcome.output == "early\nlate\n"


async def test_bash_refuses_blocked_commands_without_running_them(workspace: Workspace) -> None:
    tool = BashTool(workspace, blocked=("rm -rf", "shutdown"))
    outcome = await run(tool, command="touch ran; rm -rf /tmp/nothing")
    assert outcome.is_error
    assert outcome.output == "Blocked command pattern: rm -rf"
    assert outcome.metadata["blocked"] == "rm -rf"
    assert not (workspace.root / "ran").exists()


async def test_bash_output_past_the_cap_is_cut_with_a_note(workspace: Workspace) -> None:
    size = MAX_OUTPUT_BYTES + 100_000
    outcome = await run(BashTool(workspace), command=f"head -c {size} /dev/zero | tr '\\0' x")
    assert not outcome.is_error
    assert outcome.output.startswith("x" * MAX_OUTPUT_BYTES)
    assert outcome.output.endswith("\n[output truncated: 100000 more bytes not shown]")


async def test_bash_does_not_hand_api_keys_to_the_command(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("AGENT_NAME", "tester")
    outcome = await run(
        BashTool(workspace), command='echo "${ANTHROPIC_API_KEY:-none} $AGENT_NAME"'
    )
    assert outcome.output == "none tester\n"


async def test_bash_timeout_argument_is_validated(workspace: Workspace) -> None:
    outcome = await run(BashTool(workspace), command="true", timeout=0)
    assert outcome.is_error
    assert "timeout" in outcome.output


# --- read -----------------------------------------------------------------------------------


async def test_read_returns_the_file_with_code_metadata(workspace: Workspace) -> None:
    (workspace.root / "app.py").write_text("import os\nprint(os.name)\n")
    outcome = await run(ReadTool(workspace), path="app.py")
    assert outcome.output == "import os\nprint(os.name)"
    assert outcome.metadata["language"] == "python"
    assert outcome.metadata["lineCount"] == 2
    assert outcome.metadata["filePath"] == str(workspace.root / "app.py")


async def test_read_offset_and_limit_select_lines(workspace: Workspace) -> None:
    (workspace.root / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    outcome = await run(ReadTool(workspace), path="n.txt", offset=3, limit=2)
    assert outcome.output.splitlines()[:2] == ["line 3", "line 4"]
    assert "[showing lines 3-4 of 10; use offset and limit for more]" in outcome.output


async def test_read_stops_at_2000_lines_with_a_note(workspace: Workspace) -> None:
    (workspace.root / "big.txt").write_text("".join(f"{i}\n" for i in range(1, 2501)))
    outcome = await run(ReadTool(workspace), path="big.txt")
    lines = outcome.output.splitlines()
    assert lines[:DEFAULT_READ_LINES][-1] == "2000"
    assert "2001" not in lines
    assert lines[-1] == "[showing lines 1-2000 of 2500; use offset and limit for more]"


async def test_read_offset_past_the_end_says_so(workspace: Workspace) -> None:
    (workspace.root / "short.txt").write_text("a\nb\n")
    outcome = await run(ReadTool(workspace), path="short.txt", offset=9)
    assert not outcome.is_error
    assert outcome.output == "[offset 9 is past the end of the file (2 lines)]"


async def test_read_refuses_binary_files(workspace: Workspace) -> None:
    (workspace.root / "blob.bin").write_bytes(b"\x7fELF\x00\x01\x02")
    outcome = await run(ReadTool(workspace), path="blob.bin")
    assert outcome.is_error
    assert outcome.output == "blob.bin is a binary file"


async def test_read_refuses_directories(workspace: Workspace) -> None:
    (workspace.root / "sub").mkdir()
    outcome = await run(ReadTool(workspace), path="sub")
    assert outcome.is_error
    assert outcome.output == "sub is a directory; use ls"


async def test_read_refuses_a_fifo_instead_of_blocking(workspace: Workspace) -> None:
    os.mkfifo(workspace.root / "pipe")
    async with asyncio.timeout(5):
        outcome = await run(ReadTool(workspace), path="pipe")
    assert outcome.is_error
    assert outcome.output == "pipe is not a regular file"


async def test_read_of_a_missing_file_is_an_error(workspace: Workspace) -> None:
    outcome = await run(ReadTool(workspace), path="nope.txt")
    assert outcome.is_error
    assert outcome.output == "cannot read nope.txt: No such file or directory"


# --- write ----------------------------------------------------------------------------------


async def test_write_creates_parent_directories(workspace: Workspace) -> None:
    outcome = await run(WriteTool(workspace), path="a/b/c/notes.md", content="# héllo\n")
    assert not outcome.is_error
    assert outcome.output == "Wrote 9 bytes to a/b/c/notes.md"
    assert (workspace.root / "a/b/c/notes.md").read_text() == "# héllo\n"
    assert outcome.metadata["size"] == 9
    assert outcome.metadata["language"] == "markdown"


async def test_write_overwrites(workspace: Workspace) -> None:
    (workspace.root / "f.txt").write_text("old and long")
    await run(WriteTool(workspace), path="f.txt", content="new")
    assert (workspace.root / "f.txt").read_text() == "new"


async def test_write_onto_a_directory_is_an_error(workspace: Workspace) -> None:
    (workspace.root / "d").mkdir()
    outcome = await run(WriteTool(workspace), path="d", content="x")
    assert outcome.is_error
    assert outcome.output.startswith("cannot write d:")


# --- edit -----------------------------------------------------------------------------------


async def test_edit_replaces_exact_text_and_returns_a_unified_diff(workspace: Workspace) -> None:
    (workspace.root / "m.py").write_text("a = 1\nb = 2\nc = 3\n")
    outcome = await run(
        EditTool(workspace),
        path="m.py",
        edits=[{"oldText": "b = 2", "newText": "b = 20"}, {"oldText": "c", "newText": "d"}],
    )
    assert not outcome.is_error
    assert (workspace.root / "m.py").read_text() == "a = 1\nb = 20\nd = 3\n"
    assert outcome.output == (
        "Applied 2 edit(s) to m.py\n\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n"
        " a = 1\n-b = 2\n-c = 3\n+b = 20\n+d = 3\n"
    )
    assert outcome.metadata["editCount"] == 2
    assert outcome.metadata["diff"] in outcome.output


async def test_edit_not_found_names_the_edit_and_writes_nothing(workspace: Workspace) -> None:
    (workspace.root / "m.py").write_text("a = 1\nb = 2\n")
    outcome = await run(
        EditTool(workspace),
        path="m.py",
        edits=[{"oldText": "a = 1", "newText": "a = 9"}, {"oldText": "zzz", "newText": "y"}],
    )
    assert outcome.is_error
    assert outcome.output == "edits[1].oldText not found in file: 'zzz'; nothing was written"
    assert (workspace.root / "m.py").read_text() == "a = 1\nb = 2\n"


async def test_edit_with_several_matches_names_the_edit_and_writes_nothing(
    workspace: Workspace,
) -> None:
    (workspace.root / "m.py").write_text("x = 1\nx = 1\n")
    outcome = await run(
        EditTool(workspace), path="m.py", edits=[{"oldText": "x = 1", "newText": ""}]
    )
    assert outcome.is_error
    assert outcome.output.startswith("edits[0].oldText matches multiple locations: 'x = 1'")
    assert (workspace.root / "m.py").read_text() == "x = 1\nx = 1\n"


async def test_edit_counts_overlapping_matches_as_several(workspace: Workspace) -> None:
    (workspace.root / "a.txt").write_text("aaa")
    outcome = await run(
        EditTool(workspace), path="a.txt", edits=[{"oldText": "aa", "newText": "b"}]
    )
    assert outcome.is_error
    assert "matches multiple locations" in outcome.output


async def test_edit_keeps_crlf_line_endings(workspace: Workspace) -> None:
    (workspace.root / "w.txt").write_bytes(b"one\r\ntwo\r\n")
    await run(EditTool(workspace), path="w.txt", edits=[{"oldText": "two", "newText": "2"}])
    assert (workspace.root / "w.txt").read_bytes() == b"one\r\n2\r\n"


async def test_edit_diff_marks_a_last_line_without_newline(workspace: Workspace) -> None:
    (workspace.root / "t.txt").write_text("keep\nold")
    outcome = await run(
        EditTool(workspace), path="t.txt", edits=[{"oldText": "old", "newText": "new"}]
    )
    diff = outcome.metadata["diff"]
    assert "\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file\n" in diff


async def test_edit_of_a_missing_file_is_an_error(workspace: Workspace) -> None:
    outcome = await run(
        EditTool(workspace), path="none.py", edits=[{"oldText": "a", "newText": "b"}]
    )
    assert outcome.is_error
    assert outcome.output.startswith("cannot read none.py:")


# --- ls -------------------------------------------------------------------------------------


async def test_ls_lists_mode_size_and_name_sorted(workspace: Workspace) -> None:
    (workspace.root / "b.txt").write_text("12345")
    (workspace.root / "a").mkdir()
    (workspace.root / "b.txt").chmod(0o640)
    outcome = await run(LsTool(workspace), path=".")
    lines = outcome.output.splitlines()
    assert re.fullmatch(r"drwx[-rwx]{6} +\d+ a/", lines[0])
    assert lines[1] == "-rw-r-----        5 b.txt"
    assert outcome.metadata["entryCount"] == 2


async def test_ls_of_a_file_is_an_error(workspace: Workspace) -> None:
    (workspace.root / "f").write_text("")
    outcome = await run(LsTool(workspace), path="f")
    assert outcome.is_error
    assert outcome.output == "cannot list f: Not a directory"


# --- glob and grep ----------------------------------------------------------------------------


@pytest.fixture
def project(workspace: Workspace) -> Path:
    """A small source tree, not a git repository, with a .gitignore and a .git directory."""
    root = workspace.root
    files = {
        "main.py": "def main():\n    return helper()\n",
        "src/pkg/helper.py": "def helper():\n    return 'Needle'\n",
        "src/pkg/test_helper.py": "from pkg.helper import helper\n",
        "src/web/app.go": "package web\n// needle in go\n",
        "docs/guide.md": "# Guide\nno match here\n",
        "build/generated.py": "def needle_generated():\n    pass\n",
        ".git/config": "needle in git metadata\n",
        ".gitignore": "build/\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


async def test_glob_matches_paths_at_any_depth_not_just_basenames(
    workspace: Workspace, project: Path
) -> None:
    outcome = await run(GlobTool(workspace), pattern="**/*.py")
    assert outcome.output.splitlines() == [
        "main.py",
        "src/pkg/helper.py",
        "src/pkg/test_helper.py",
    ]
    assert outcome.metadata["count"] == 3


async def test_glob_pattern_with_directories(workspace: Workspace, project: Path) -> None:
    outcome = await run(GlobTool(workspace), pattern="src/*/test_*.py")
    assert outcome.output == "src/pkg/test_helper.py"


async def test_glob_under_a_path_returns_paths_read_can_open(
    workspace: Workspace, project: Path
) -> None:
    outcome = await run(GlobTool(workspace), pattern="*.go", path="src")
    assert outcome.output == "src/web/app.go"
    read = await run(ReadTool(workspace), path=outcome.output)
    assert "needle in go" in read.output


async def test_glob_respects_gitignore_and_skips_git(workspace: Workspace, project: Path) -> None:
    outcome = await run(GlobTool(workspace), pattern="**/*")
    assert "build/generated.py" not in outcome.output
    assert ".git/config" not in outcome.output
    assert ".gitignore" in outcome.output.splitlines()


async def test_glob_name_pattern_does_not_open_ignored_directories(
    workspace: Workspace, project: Path
) -> None:
    """A pattern that also matches a directory name (`*`) must not list what .gitignore hides."""
    outcome = await run(GlobTool(workspace), pattern="*")
    assert "build/generated.py" not in outcome.output
    assert "src/pkg/helper.py" in outcome.output.splitlines()


async def test_glob_alternatives_and_classes(workspace: Workspace, project: Path) -> None:
    outcome = await run(GlobTool(workspace), pattern="src/**/[ah]*.{go,py}")
    assert outcome.output.splitlines() == ["src/pkg/helper.py", "src/web/app.go"]


async def test_glob_caps_the_list_with_a_note(workspace: Workspace) -> None:
    for i in range(1005):
        (workspace.root / f"f{i:04}.txt").write_text("")
    outcome = await run(GlobTool(workspace), pattern="*.txt")
    lines = outcome.output.splitlines()
    assert lines[0] == "f0000.txt"
    assert lines[999] == "f0999.txt"
    assert lines[1000] == "[5 more files matched, not shown; narrow the pattern or path]"
    assert outcome.metadata["count"] == 1005


async def test_glob_without_matches_says_so(workspace: Workspace, project: Path) -> None:
    outcome = await run(GlobTool(workspace), pattern="**/*.rs")
    assert not outcome.is_error
    assert outcome.output == "No files matched."


async def test_grep_finds_a_regex_with_path_and_line(workspace: Workspace, project: Path) -> None:
    outcome = await run(GrepTool(workspace), pattern=r"def \w+\(\):")
    assert sorted(outcome.output.splitlines()) == [
        "main.py:1:def main():",
        "src/pkg/helper.py:1:def helper():",
    ]
    assert outcome.metadata["matchCount"] == 2


async def test_grep_respects_gitignore_and_skips_git(workspace: Workspace, project: Path) -> None:
    outcome = await run(GrepTool(workspace), pattern="needle")
    assert outcome.output == "src/web/app.go:2:// needle in go\n"


async def test_grep_include_and_ignore_case(workspace: Workspace, project: Path) -> None:
    outcome = await run(GrepTool(workspace), pattern="needle", include="*.py", ignore_case=True)
    assert outcome.output == "src/pkg/helper.py:2:    return 'Needle'\n"


async def test_grep_under_a_path_reports_workspace_paths(
    workspace: Workspace, project: Path
) -> None:
    outcome = await run(GrepTool(workspace), pattern="helper", path="src/pkg")
    assert sorted(outcome.output.splitlines()) == [
        "src/pkg/helper.py:1:def helper():",
        "src/pkg/test_helper.py:1:from pkg.helper import helper",
    ]


async def test_grep_in_one_file(workspace: Workspace, project: Path) -> None:
    outcome = await run(GrepTool(workspace), pattern="return", path="main.py")
    assert outcome.output == "2:    return helper()\n"


async def test_grep_without_matches_says_so(workspace: Workspace, project: Path) -> None:
    outcome = await run(GrepTool(workspace), pattern="absent_[0-9]+")
    assert not outcome.is_error
    assert outcome.output == "No matches found."


async def test_grep_invalid_regex_is_an_error_naming_the_problem(
    workspace: Workspace, project: Path
) -> None:
    outcome = await run(GrepTool(workspace), pattern="def (")
    assert outcome.is_error
    assert outcome.output.startswith("grep failed:")
    assert "regex parse error" in outcome.output
    assert "unclosed group" in outcome.output


async def test_grep_output_is_capped_with_a_note(workspace: Workspace) -> None:
    line = "match " + "y" * 94 + "\n"
    (workspace.root / "many.txt").write_text(line * (MAX_OUTPUT_BYTES // len(line) * 3))
    outcome = await run(GrepTool(workspace), pattern="^match")
    body, note = outcome.output.rsplit("\n[", 1)
    assert note.startswith("output capped at 256 KiB")
    assert len(body.encode()) <= MAX_OUTPUT_BYTES
    assert all(row.startswith("many.txt:") and row.endswith("y") for row in body.splitlines())
    assert outcome.metadata["truncated"] is True


async def test_grep_of_a_missing_path_is_an_error(workspace: Workspace) -> None:
    outcome = await run(GrepTool(workspace), pattern="x", path="missing")
    assert outcome.is_error
    assert outcome.output == "missing does not exist"


# --- fetch ----------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>T</title><style>body{color:red}</style></head>
<body><script>var secret = "script text";</script><h1>Release notes</h1>
<p>Version <b>2.0</b> is out.</p><ul><li>faster</li><li>smaller</li></ul>
<a href="https://example.org/docs">docs</a></body></html>"""


def fetch_app() -> Starlette:
    async def page(_request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def text(request: Request) -> Response:
        return PlainTextResponse(f"plain text, host {request.headers['host']}")

    async def missing(_request: Request) -> Response:
        return PlainTextResponse("no such page", status_code=404)

    async def huge(_request: Request) -> Response:
        return PlainTextResponse("z" * (MAX_FETCH_BYTES + 1000))

    async def binary(_request: Request) -> Response:
        return Response(b"\x89PNG\r\n\x1a\n\x00\x00", media_type="image/png")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def loop(_request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    routes = [
        Route("/page", page),
        Route("/text", text),
        Route("/missing", missing),
        Route("/huge", huge),
        Route("/binary", binary),
        Route("/redirect", redirect),
        Route("/loop", loop),
    ]
    return Starlette(routes=routes)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async with serve_in_background(fetch_app()) as running:
        yield running.url


async def test_fetch_turns_html_into_readable_text(server: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/page")
    assert not outcome.is_error
    assert outcome.output == (
        "Release notes\nVersion 2.0 is out.\n- faster\n- smaller\ndocs (https://example.org/docs)"
    )
    assert outcome.metadata["status"] == 200


def test_html_keeps_preformatted_text_and_survives_an_unclosed_head() -> None:
    html = "<html><head><title>x</title><body><p>Use <code>f</code>:</p><pre>def f():\n    return 1\n</pre>"
    assert web.html_to_text(html) == "Use f:\ndef f():\n    return 1"


async def test_fetch_returns_plain_text_sending_the_host_name(server: str) -> None:
    """The connection goes to the checked address, the name still goes in Host."""
    port = server.rsplit(":", 1)[1]
    outcome = await run(FetchTool(allow_private=True), url=f"http://localhost:{port}/text")
    assert outcome.output == f"plain text, host localhost:{port}"
    assert outcome.metadata["finalUrl"] == f"http://localhost:{port}/text"


async def test_fetch_http_error_is_an_error_result(server: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/missing")
    assert outcome.is_error
    assert outcome.output == "HTTP 404\nno such page"
    assert outcome.metadata["status"] == 404


async def test_fetch_caps_the_body_with_a_note(server: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/huge")
    assert not outcome.is_error
    assert outcome.output.startswith("z" * MAX_FETCH_BYTES + "\n[truncated")


async def test_fetch_refuses_binary_content(server: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/binary")
    assert outcome.is_error
    assert outcome.output == "binary content (image/png, 10 bytes) not shown"


async def test_fetch_follows_redirects(server: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/redirect?to=/text")
    assert outcome.output.startswith("plain text")
    assert outcome.metadata["finalUrl"] == f"{server}/text"


async def test_fetch_stops_after_too_many_redirects(server: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/loop")
    assert outcome.is_error
    assert outcome.output == "blocked: more than 5 redirects"


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal./"],
)
async def test_fetch_refuses_a_redirect_to_cloud_metadata_even_when_private_is_allowed(
    server: str, target: str
) -> None:
    outcome = await run(FetchTool(allow_private=True), url=f"{server}/redirect?to={target}")
    assert outcome.is_error
    assert outcome.output.startswith("blocked: ")
    assert "cloud metadata endpoint" in outcome.output


async def test_fetch_refuses_a_redirect_to_another_scheme(server: str) -> None:
    outcome = await run(
        FetchTool(allow_private=True), url=f"{server}/redirect?to=file:///etc/passwd"
    )
    assert outcome.output == "blocked: only http and https URLs can be fetched, not file"


async def test_fetch_refuses_a_redirect_to_a_private_address(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server must look public to reach its redirect: only 127.0.0.1 is let through,
    so the redirect targets are judged by the real rules."""
    real = web.non_public
    monkeypatch.setattr(web, "non_public", lambda a: str(a) != "127.0.0.1" and real(a))
    tool = FetchTool(allow_private=False)
    assert (await run(tool, url=f"{server}/text")).output.startswith("plain text")
    for target in ("http://127.0.0.2/", "http://10.1.2.3/", "http://[::1]/"):
        outcome = await run(tool, url=f"{server}/redirect?to={target}")
        assert outcome.is_error, target
        assert "resolves to a non-public address" in outcome.output


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # shared (carrier-grade NAT)
        "http://169.254.10.10/",  # link-local
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[fe80::1]/",
        "http://2130706433/",  # 127.0.0.1 as a number
        "http://0x7f000001/",
        "https://127.0.0.1:8443/",
    ],
)
async def test_fetch_refuses_non_public_hosts(url: str) -> None:
    outcome = await run(FetchTool(allow_private=False), url=url)
    assert outcome.is_error
    assert outcome.output.startswith("blocked: ")
    assert "non-public address" in outcome.output
    assert outcome.metadata["url"] == url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://METADATA.google.internal/computeMetadata/v1/",
        "http://metadata.internal/",
        "http://[fd00:ec2::254]/",
    ],
)
async def test_fetch_refuses_cloud_metadata_hosts(url: str) -> None:
    for allow_private in (False, True):
        outcome = await run(FetchTool(allow_private=allow_private), url=url)
        assert outcome.is_error
        assert "cloud metadata endpoint" in outcome.output


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("file:///etc/passwd", "file"), ("ftp://example.com/x", "ftp"), ("gopher://h/", "gopher")],
)
async def test_fetch_only_speaks_http(url: str, scheme: str) -> None:
    outcome = await run(FetchTool(allow_private=True), url=url)
    assert outcome.is_error
    assert outcome.output == f"blocked: only http and https URLs can be fetched, not {scheme}"


def fake_resolver(
    monkeypatch: pytest.MonkeyPatch, names: dict[str, str | None]
) -> Callable[..., Any]:
    """getaddrinfo answering `names` itself (None: no such host), so no DNS query leaves."""
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            address = names[host]
            if address is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return resolve


async def test_fetch_refuses_an_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_resolver(monkeypatch, {"nowhere.example": None})
    outcome = await run(FetchTool(allow_private=False), url="http://nowhere.example/")
    assert outcome.is_error
    assert outcome.output == "blocked: cannot resolve nowhere.example: Name or service not known"


async def test_fetch_refuses_a_name_that_resolves_to_a_private_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_resolver(monkeypatch, {"intranet.example.com": "10.20.30.40"})
    outcome = await run(FetchTool(allow_private=False), url="https://intranet.example.com/")
    assert outcome.output == (
        "blocked: intranet.example.com resolves to a non-public address (10.20.30.40)"
    )


# --- the selection ----------------------------------------------------------------------------


def test_builtin_tools_default_to_all_eight_in_order(workspace: Workspace) -> None:
    tools = builtin_tools(None, workspace)
    assert [t.name for t in tools] == [
        "bash",
        "read",
        "edit",
        "write",
        "grep",
        "ls",
        "glob",
        "fetch",
    ]
    assert tuple(t.name for t in tools) == BUILTIN_TOOLS


def test_builtin_tools_empty_list_gives_none(workspace: Workspace) -> None:
    assert builtin_tools([], workspace) == []


def test_builtin_tools_subset_keeps_the_given_order(workspace: Workspace) -> None:
    tools = builtin_tools(["glob", "bash", "glob", "teleport", "read"], workspace)
    assert [t.name for t in tools] == ["glob", "bash", "read"]


def test_builtin_tools_pass_blocked_commands_and_private_fetch(workspace: Workspace) -> None:
    bash, fetch = builtin_tools(
        ["bash", "fetch"], workspace, blocked_commands=["sudo"], allow_private_fetch=True
    )
    assert isinstance(bash, BashTool) and bash.blocked == ("sudo",)
    assert isinstance(fetch, FetchTool) and fetch.allow_private


def test_builtin_tool_schemas_mark_required_arguments(workspace: Workspace) -> None:
    schemas = {t.name: t.parameters for t in builtin_tools(None, workspace)}
    assert schemas["bash"]["required"] == ["command"]
    assert schemas["edit"]["required"] == ["path", "edits"]
    assert schemas["fetch"]["required"] == ["url"]
    assert "$defs" not in str(schemas)
