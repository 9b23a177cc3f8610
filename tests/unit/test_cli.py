"""The `agentops` command line: version, crds generate/check, validate."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agentops_services import __version__
from agentops_services.cli.main import main
from tests.conftest import SAMPLES


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"agentops {__version__}"


def test_crds_generate_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "crds"
    assert main(["crds", "check", "--dir", str(target)]) == 1
    assert main(["crds", "generate", "--dir", str(target)]) == 0
    assert len(list(target.glob("*.yaml"))) == 6
    capsys.readouterr()
    assert main(["crds", "check", "--dir", str(target)]) == 0

    agents = target / "agents.agentops.io_agents.yaml"
    agents.write_text(agents.read_text().replace("maximum: 10000", "maximum: 5"))
    (target / "agents.agentops.io_old.yaml").write_text("kind: CustomResourceDefinition\n")
    assert main(["crds", "check", "--dir", str(target)]) == 1
    out = capsys.readouterr()
    assert (
        "-                maximum: 5\n" in out.out
        and "+                maximum: 10000\n" in out.out
    )
    assert "agents.agentops.io_old.yaml: not generated from any model" in out.out
    assert "run `agentops crds generate`" in out.err

    assert main(["crds", "generate", "--dir", str(target)]) == 0
    assert not (target / "agents.agentops.io_old.yaml").exists()
    assert main(["crds", "check", "--dir", str(target)]) == 0


def test_validate_reads_stdin_and_directories(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO((SAMPLES / "agent-task.yaml").read_text()))
    assert main(["validate", "-"]) == 0
    assert "1 valid, 0 invalid in 1 file(s)" in capsys.readouterr().err
    assert main(["validate", str(SAMPLES)]) == 1, "the directory includes samples/invalid"


def test_validate_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 1
    assert f"{missing}: cannot read:" in capsys.readouterr().out


def test_no_command_opens_the_console_and_says_plainly_when_there_is_no_cluster(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-kubeconfig"
    assert main(["--kubeconfig", str(missing)]) == 2
    assert "agentops: no reachable cluster" in capsys.readouterr().err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "validate" in out and "crds" in out and "operator" in out


def test_operator_with_a_missing_kubeconfig_names_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "kubeconfig"
    assert main(["operator", "--kubeconfig", str(missing)]) == 2
    assert f"agentops operator: {missing}: kubeconfig not found" in capsys.readouterr().err
