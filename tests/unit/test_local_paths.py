"""The embedded platform's data dir: where it is, what is in it, and that private parts are
private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agentops_services.local.atomic import create_file, replace_file
from agentops_services.local.paths import DataDir


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_is_under_xdg_data_home(tmp_path: Path) -> None:
    data = DataDir.locate(environ={"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": "/nowhere"})

    assert data.root == tmp_path / "xdg" / "agentops"
    assert data.resources == tmp_path / "xdg" / "agentops" / "resources"


def test_without_xdg_data_home_it_is_under_home(tmp_path: Path) -> None:
    data = DataDir.locate(environ={"HOME": str(tmp_path)})

    assert data.root == tmp_path / ".local" / "share" / "agentops"


def test_a_relative_xdg_data_home_is_ignored_as_the_spec_says(tmp_path: Path) -> None:
    data = DataDir.locate(environ={"XDG_DATA_HOME": "relative/dir", "HOME": str(tmp_path)})

    assert data.root == tmp_path / ".local" / "share" / "agentops"


def test_agentops_data_dir_wins_over_xdg_and_the_flag_over_both(tmp_path: Path) -> None:
    environ = {"AGENTOPS_DATA_DIR": str(tmp_path / "env"), "XDG_DATA_HOME": str(tmp_path)}

    assert DataDir.locate(environ=environ).root == tmp_path / "env"
    assert DataDir.locate(tmp_path / "flag", environ=environ).root == tmp_path / "flag"


def test_the_resources_flag_points_elsewhere(tmp_path: Path) -> None:
    data = DataDir.locate(tmp_path / "data", tmp_path / "my-agents", environ={})

    assert data.resources == tmp_path / "my-agents"
    assert data.state_db == tmp_path / "data" / "state.db"


def test_every_file_has_its_place(tmp_path: Path) -> None:
    data = DataDir.locate(tmp_path, environ={})

    assert [
        data.state_db,
        data.memory_db,
        data.traces_db,
        data.secrets_file,
        data.platform_file,
        data.first_run_file,
    ] == [
        tmp_path / name
        for name in (
            "state.db",
            "memory.db",
            "traces.db",
            "secrets.env",
            "platform.json",
            "first-run.json",
        )
    ]
    agent = data.agent("assistant")
    assert agent.root == tmp_path / "agents" / "assistant"
    assert (agent.config, agent.state, agent.workspace, agent.log, agent.result) == (
        agent.root / "config.json",
        agent.root / "state",
        agent.root / "workspace",
        agent.root / "runtime.log",
        agent.root / "result.json",
    )
    assert data.run("summarize-x7k2p").root == tmp_path / "runs" / "summarize-x7k2p"


def test_directories_are_created_private(tmp_path: Path) -> None:
    data = DataDir.locate(tmp_path / "data", environ={}).create()
    agent = data.agent("assistant").create()

    for directory in (data.root, data.resources, data.agents_dir, data.runs_dir, data.logs_dir):
        assert mode_of(directory) == 0o700, directory
    for directory in (agent.root, agent.state, agent.workspace):
        assert mode_of(directory) == 0o700, directory


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "a\\b", "a\0b"])
def test_a_name_never_climbs_out_of_its_directory(tmp_path: Path, name: str) -> None:
    data = DataDir.locate(tmp_path, environ={})

    with pytest.raises(ValueError, match="cannot name a directory"):
        data.agent(name)
    with pytest.raises(ValueError, match="cannot name a directory"):
        data.run(name)


def test_replace_file_writes_with_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "platform.json"
    target.write_text("old")
    target.chmod(0o644)

    replace_file(target, b"new")

    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["platform.json"]


def test_create_file_never_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "agent-assistant.yaml"

    assert create_file(target, b"first", 0o644) is True
    assert create_file(target, b"second", 0o644) is False

    assert target.read_bytes() == b"first"
    assert mode_of(target) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["agent-assistant.yaml"]
