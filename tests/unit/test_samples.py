"""Every sample is judged as the README promises: valid ones pass, each invalid one fails with
the message and field path it names, and the models give back exactly what was written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_services.api.manifests import check_manifests
from agentops_services.api.v1alpha1 import KINDS
from agentops_services.api.validation import validate_resource
from agentops_services.api.yaml_source import load_documents
from agentops_services.cli.main import main
from tests.conftest import INVALID_SAMPLES, SAMPLES

VALID = sorted(SAMPLES.glob("*.yaml"))
INVALID = sorted(INVALID_SAMPLES.glob("*.yaml"))


def expected_messages(path: Path) -> list[str]:
    return [
        line.removeprefix("# expect:").strip()
        for line in path.read_text().splitlines()
        if line.startswith("# expect:")
    ]


def test_samples_cover_every_kind_and_variant() -> None:
    kinds = {load_documents(p.read_text())[0].data["kind"] for p in VALID}
    assert kinds == set(KINDS)
    specs = [load_documents(p.read_text())[0].data["spec"] for p in VALID]
    sources = {
        k
        for s in specs
        for k in s
        if k in {"oci", "configMap", "inline", "mcpServer", "mcpEndpoint", "skill"}
    }
    assert sources == {"oci", "configMap", "inline", "mcpServer", "mcpEndpoint", "skill"}
    resource_kinds = {s["kind"] for s in specs if "displayName" in s}
    assert len(resource_kinds) == 7
    channel_types = {s["type"] for s in specs if "agentRef" in s and "image" in s}
    assert channel_types == {"telegram", "slack", "discord", "gitlab", "github", "webhook"}
    provider_types = {
        s["type"]
        for s in specs
        if set(s) & {"apiKeySecret", "endpoint", "config", "defaults"}
        and "agentRef" not in s
        and "mode" not in s
    }
    assert provider_types == {
        "anthropic",
        "openai",
        "google",
        "azure",
        "bedrock",
        "openrouter",
        "openaicompat",
    }


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_sample_passes(path: Path) -> None:
    reports, problems = check_manifests(path.read_text())
    assert problems == []
    assert [r.errors for r in reports] == [[]]
    assert reports[0].resource is not None


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_models_round_trip_samples(path: Path) -> None:
    """Apart from key order, the model writes back exactly what was read (no defaults added,
    no int turned float, no timestamp reformatted)."""
    data = load_documents(path.read_text())[0].data
    resource = validate_resource(data).resource
    assert resource is not None
    assert json.dumps(resource.to_wire(), sort_keys=True) == json.dumps(data, sort_keys=True)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_sample_fails_with_its_message(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = expected_messages(path)
    assert expected, f"{path.name} names no '# expect:' message"
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    for message in expected:
        assert message in out, f"{path.name}: expected {message!r}, got:\n{out}"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_sample_breaks_exactly_one_rule(path: Path) -> None:
    reports, _ = check_manifests(path.read_text())
    assert len(reports[0].errors) == 1, [e.message for e in reports[0].errors]


def test_error_names_file_line_and_field(capsys: pytest.CaptureFixture[str]) -> None:
    path = INVALID_SAMPLES / "agent-task-with-storage.yaml"
    assert main(["validate", str(path)]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    storage_line = next(
        i
        for i, text in enumerate(path.read_text().splitlines(), 1)
        if text.startswith("  storage:")
    )
    assert line.startswith(f"{path}:{storage_line}: Agent/broken-agent: spec.storage: Forbidden:")


def test_installed_command_validates_every_sample() -> None:
    """The real entry point, as a user runs it: the valid set passes, the invalid set fails."""
    ok = subprocess.run(
        [sys.executable, "-m", "agentops_services.cli.main", "validate", *map(str, VALID)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{len(VALID)} valid, 0 invalid" in ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "agentops_services.cli.main", "validate", str(INVALID_SAMPLES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert f"0 valid, {len(INVALID)} invalid" in bad.stderr
