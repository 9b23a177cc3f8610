"""The harness itself: a component that dies is reported with its log, nothing is left behind,
and the kube tests are skipped loudly on a developer box but fail the run in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_services.testing.binaries import Binaries
from agentops_services.testing.controlplane import ControlPlane, ControlPlaneError
from tests.conftest import REPO


def fake_binaries(directory: Path, etcd_script: str) -> Binaries:
    binaries = Binaries.in_dir(directory)
    for path in vars(binaries).values():
        path.write_text("#!/bin/sh\nexit 3\n")
        path.chmod(0o755)
    binaries.etcd.write_text(f"#!/bin/sh\n{etcd_script}\n")
    return binaries


def test_a_dying_component_is_reported_with_its_log(tmp_path: Path) -> None:
    binaries = fake_binaries(tmp_path, 'echo "etcd: cannot open data dir: boom" >&2; exit 1')
    plane = ControlPlane(binaries, start_timeout=20)
    with pytest.raises(ControlPlaneError) as info:
        plane.start()
    message = str(info.value)
    assert "etcd exited with 1 while waiting for etcd health" in message
    assert "--- etcd (last 40 lines of" in message
    assert "cannot open data dir: boom" in message
    assert not plane.workdir.exists(), "a failed start removes its files"


def test_a_component_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    binaries = fake_binaries(tmp_path, 'echo "etcd: waiting forever"; exec sleep 30')
    plane = ControlPlane(binaries, start_timeout=0.5)
    with pytest.raises(
        ControlPlaneError, match=r"timed out after 0s waiting for etcd health(.|\n)*waiting forever"
    ):
        plane.start()
    assert not plane.workdir.exists()


def run_kube_test(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "tests/kube/test_controlplane.py::test_crds_are_established",
        ],
        cwd=REPO,
        env=os.environ | {"AGENTOPS_TESTENV_BIN": "/nonexistent"} | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_binaries_skip_loudly_on_a_developer_box() -> None:
    result = run_kube_test({"CI": "false"})
    assert result.returncode == 0, result.stdout
    assert (
        "!!! SKIPPING every kube test: control-plane binaries not built yet in /nonexistent"
        in result.stdout
    )
    assert "1 skipped" in result.stdout


def test_missing_binaries_fail_the_run_in_ci() -> None:
    result = run_kube_test({"CI": "true"})
    assert result.returncode != 0
    assert "!!! kube tests cannot run" in result.stdout
    assert "ControlPlaneError" in result.stdout
