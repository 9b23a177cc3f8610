"""allowedPaths confinement of the file tools: a corpus of ways out of the allowed directory,
each tried with every tool that takes a path. A refusal must be an error result the model can
read (never an exception), must not show anything from outside, and must not write there.

Upstream compared raw string prefixes, so `allowed/../secret`, `/data` → `/database` and any
symlink led out; the workspace resolves `..` and symlinks before it compares.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool
from agentops_services.runtime.tools.files import EditTool, LsTool, ReadTool, WriteTool
from agentops_services.runtime.tools.shell import GlobTool, GrepTool
from agentops_services.runtime.tools.workspace import ConfinementError, Workspace

CONTEXT = ToolContext(call_id="c1", tool_name="tool", session_id="s", emit=lambda _event: None)
SECRET = "TOP-SECRET-CONTENT"


@dataclass(frozen=True)
class Layout:
    base: Path
    """Holds everything; only base/data is allowed."""
    data: Path
    workspace: Workspace


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """base/data (allowed, the workspace) with links out, and secrets beside it, including a
    sibling whose name starts with `data`."""
    base = tmp_path.resolve()
    data = base / "data"
    (data / "sub").mkdir(parents=True)
    (data / "inside.txt").write_text("inside text\n")
    (data / "sub" / "deep.txt").write_text("deep text\n")
    (base / "secret.txt").write_text(SECRET + "\n")
    (base / "outside").mkdir()
    (base / "outside" / "inner.txt").write_text(SECRET + "\n")
    (base / "database").mkdir()
    (base / "database" / "dump.sql").write_text(SECRET + "\n")
    (data / "link_file").symlink_to(base / "secret.txt")
    (data / "link_dir").symlink_to(base / "outside")
    (data / "chain_1").symlink_to(data / "chain_2")
    (data / "chain_2").symlink_to(data / "chain_3")
    (data / "chain_3").symlink_to(base / "secret.txt")
    (data / "relative_link").symlink_to(Path("..") / "outside")
    (data / "dangling").symlink_to(base / "outside" / "not_yet.txt")
    (data / "loop_a").symlink_to(data / "loop_b")
    (data / "loop_b").symlink_to(data / "loop_a")
    (data / "inner_link").symlink_to(data / "sub")
    return Layout(base, data, Workspace.create(data, [str(data)]))


# Each escape is a function of the layout, so absolute paths can be spelled out.
ESCAPES: dict[str, Callable[[Layout], str]] = {
    "dotdot": lambda _: "../secret.txt",
    "dotdot_deep": lambda _: "sub/../../secret.txt",
    "dotdot_many": lambda _: "../../../../../../../../etc/passwd",
    "absolute_outside": lambda at: str(at.base / "secret.txt"),
    "absolute_etc": lambda _: "/etc/passwd",
    "absolute_root_dir": lambda _: "/",
    "allowed_then_dotdot": lambda at: f"{at.data}/../secret.txt",
    "allowed_then_dotdot_dir": lambda at: f"{at.data}/../outside",
    "prefix_sibling": lambda at: str(at.base / "database" / "dump.sql"),
    "prefix_sibling_dir": lambda at: str(at.base / "database"),
    "prefix_sibling_relative": lambda _: "../database/dump.sql",
    "symlink_file": lambda _: "link_file",
    "symlink_dir": lambda _: "link_dir",
    "symlink_dir_file": lambda _: "link_dir/inner.txt",
    "symlink_dir_trailing_slash": lambda _: "link_dir/",
    "symlink_dir_dot": lambda _: "link_dir/.",
    "symlink_relative_target": lambda _: "relative_link/inner.txt",
    "symlink_chain": lambda _: "chain_1",
    # The OS applies .. after following the link: this is base/secret.txt, although a lexical
    # clean-up would make it data/secret.txt.
    "symlink_dir_then_dotdot": lambda _: "link_dir/../secret.txt",
    "symlink_dangling_outside": lambda _: "dangling",
    "new_file_under_symlinked_dir": lambda _: "link_dir/new.txt",
    "new_dirs_under_symlinked_dir": lambda _: "link_dir/a/b/new.txt",
    "dot_components": lambda _: "./sub/./../../secret.txt",
    "double_slashes": lambda at: f"{at.data}//..//secret.txt",
    "parent_itself": lambda _: "..",
    "parent_trailing_slash": lambda _: "../",
}

INVALID: dict[str, Callable[[Layout], str]] = {
    "nul_byte": lambda _: "inside.txt\x00../../secret.txt",
    "nul_only": lambda _: "\x00",
    "symlink_loop": lambda _: "loop_a/file.txt",
}


def call_arguments(tool: str, path: str) -> dict[str, Any]:
    """Arguments that make `tool` act on `path`."""
    arguments: dict[str, dict[str, Any]] = {
        "read": {"path": path},
        "write": {"path": path, "content": "written by the agent"},
        "edit": {"path": path, "edits": [{"oldText": "TOP", "newText": "PWNED"}]},
        "ls": {"path": path},
        "grep": {"pattern": "SECRET|root", "path": path},
        "glob": {"pattern": "**/*", "path": path},
    }
    return arguments[tool]


def make_tool(tool: str, workspace: Workspace) -> TypedTool[Any]:
    tools: dict[str, TypedTool[Any]] = {
        "read": ReadTool(workspace),
        "write": WriteTool(workspace),
        "edit": EditTool(workspace),
        "ls": LsTool(workspace),
        "grep": GrepTool(workspace),
        "glob": GlobTool(workspace),
    }
    return tools[tool]


TOOLS = ("read", "write", "edit", "ls", "grep", "glob")


def snapshot(base: Path) -> dict[str, bytes]:
    """Every regular file outside the allowed directory, with its content."""
    return {
        str(p): p.read_bytes()
        for p in base.rglob("*")
        if p.is_file() and not p.is_symlink() and not p.is_relative_to(base / "data")
    }


async def run_tool(tool: str, layout: Layout, path: str) -> ToolOutcome:
    return await make_tool(tool, layout.workspace).run(call_arguments(tool, path), CONTEXT)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("escape", ESCAPES)
async def test_escape_is_refused_as_a_readable_error(
    layout: Layout, tool: str, escape: str
) -> None:
    before = snapshot(layout.base)
    path = ESCAPES[escape](layout)
    outcome = await run_tool(tool, layout, path)
    assert outcome.is_error, outcome.output
    assert outcome.output.startswith(f"Path not in allowed list: {path} (allowed: ")
    assert SECRET not in outcome.output
    assert snapshot(layout.base) == before
    assert not (layout.base / "outside" / "new.txt").exists()
    assert not (layout.base / "outside" / "a").exists()
    assert not (layout.base / "outside" / "not_yet.txt").exists()


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("invalid", INVALID)
async def test_invalid_path_is_refused_as_a_readable_error(
    layout: Layout, tool: str, invalid: str
) -> None:
    before = snapshot(layout.base)
    outcome = await run_tool(tool, layout, INVALID[invalid](layout))
    assert outcome.is_error
    assert outcome.output.startswith(("invalid path: ", "cannot resolve "))
    assert SECRET not in outcome.output
    assert snapshot(layout.base) == before


@pytest.mark.parametrize(
    "path",
    [
        "inside.txt",
        "./inside.txt",
        "sub/../inside.txt",
        "sub/./deep.txt",
        "inner_link/deep.txt",
    ],
)
async def test_paths_inside_stay_readable(layout: Layout, path: str) -> None:
    outcome = await run_tool("read", layout, path)
    assert not outcome.is_error, outcome.output


@pytest.mark.parametrize("path", [".", "./", "sub", "sub/", "sub/.", "inner_link"])
async def test_directories_inside_can_be_listed(layout: Layout, path: str) -> None:
    outcome = await run_tool("ls", layout, path)
    assert not outcome.is_error, outcome.output


async def test_writing_inside_works(layout: Layout) -> None:
    outcome = await run_tool("write", layout, "sub/new/file.txt")
    assert not outcome.is_error
    assert (layout.data / "sub" / "new" / "file.txt").read_text() == "written by the agent"


async def test_search_of_the_allowed_directory_does_not_follow_links_out(layout: Layout) -> None:
    grep = await run_tool("grep", layout, ".")
    glob = await run_tool("glob", layout, ".")
    assert SECRET not in grep.output
    assert grep.output == "No matches found."
    assert "inner.txt" not in glob.output
    assert "inside.txt" in glob.output.splitlines()


async def test_glob_patterns_cannot_climb_out(layout: Layout) -> None:
    glob = make_tool("glob", layout.workspace)
    for pattern in ("../*", "../**/*.txt", "/etc/*", "**/../../secret.txt", "*/../../*"):
        outcome = await glob.run({"pattern": pattern}, CONTEXT)
        assert outcome.output == "No files matched.", pattern


# --- the workspace itself ---------------------------------------------------------------------


def test_prefix_of_a_name_is_not_a_parent(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "database").mkdir()
    workspace = Workspace.create(tmp_path, ["/nonexistent", str(tmp_path / "data")])
    assert workspace.resolve(str(tmp_path / "data" / "x")) == tmp_path.resolve() / "data" / "x"
    with pytest.raises(ConfinementError):
        workspace.resolve(str(tmp_path / "database" / "x"))
    with pytest.raises(ConfinementError):
        workspace.resolve(str(tmp_path / "data") + "base")


def test_allowed_paths_with_trailing_slash_and_dots_mean_the_same(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    for spelled in (f"{tmp_path}/data/", f"{tmp_path}/./data", f"{tmp_path}/data/sub/.."):
        workspace = Workspace.create(tmp_path, [spelled])
        assert workspace.allowed == ((tmp_path / "data").resolve(),)
        assert workspace.resolve("data/file") == (tmp_path / "data" / "file").resolve()


def test_relative_allowed_paths_start_at_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    workspace = Workspace.create(tmp_path, ["repo"])
    assert workspace.resolve("repo/a.py") == (tmp_path / "repo" / "a.py").resolve()
    with pytest.raises(ConfinementError, match=r"Path not in allowed list: other\.py"):
        workspace.resolve("other.py")


def test_the_allowed_directory_itself_is_allowed(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path, [str(tmp_path)])
    assert workspace.resolve(str(tmp_path)) == tmp_path.resolve()
    assert workspace.resolve(".") == tmp_path.resolve()


def test_without_allowed_paths_everything_resolves(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    assert workspace.resolve("/etc/hostname") == Path("/etc/hostname").resolve()
    assert workspace.resolve("../x") == (tmp_path / ".." / "x").resolve()


def test_a_symlink_loop_is_a_confinement_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ConfinementError, match="symlink loop"):
        Workspace.create(tmp_path).resolve("a/x")


@pytest.mark.parametrize("raw", ["", "\x00", "a\x00b"])
def test_empty_and_nul_paths_are_invalid(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfinementError, match="invalid path"):
        Workspace.create(tmp_path).resolve(raw)


def test_display_is_relative_inside_and_absolute_outside(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    assert workspace.display(tmp_path.resolve() / "a" / "b.py") == "a/b.py"
    assert workspace.display(tmp_path.resolve()) == "."
    assert workspace.display(Path("/etc/passwd")) == "/etc/passwd"


def test_environment_drops_credentials_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant",
        "OPENAI_API_KEY": "sk-oai",
        "kimi_api_key": "lower",
        "GIT_TOKEN": "ghp",
        "GITLAB_TOKEN": "glpat",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "AWS_SESSION_TOKEN": "sess",
        "AZURE_CLIENT_SECRET": "az",
        "DB_PASSWORD": "pw",
    }
    kept = {"AGENT_NAME": "tester", "PATH": os.environ.get("PATH", "/usr/bin"), "LANG": "C.UTF-8"}
    for name, value in {**secrets, **kept}.items():
        monkeypatch.setenv(name, value)
    environment = Workspace.create(tmp_path).environment()
    assert not set(secrets) & set(environment)
    assert {k: environment[k] for k in kept} == kept
