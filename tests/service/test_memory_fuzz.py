"""Property test of the memory API against its own OpenAPI document (schemathesis): whatever a
client sends, the service answers without a 5xx and as the document says."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from agentops_services.httpapi.openapi import openapi_document
from agentops_services.memory.http import memory_endpoints
from agentops_services.memory.store import MemoryStore
from agentops_services.testing.controlplane import free_port
from tests.conftest import REPO

SCHEMA = schemathesis.openapi.from_dict(
    openapi_document("AgentOps memory", "test", memory_endpoints(MemoryStore(Path("/dev/null"))))
)


@pytest.fixture(scope="module")
def memory_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("fuzz") / "memory.db"
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentops_services.cli.main",
            "memory",
            "--db",
            str(db),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=2) as client:
        for _ in range(300):
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError(
                    process.stderr.read().decode() if process.stderr else "memory service exited"
                )
            time.sleep(0.05)
        client.post("/sessions", json={"id": "s1", "project": "fuzz"})
        client.post(
            "/observations",
            json={
                "session_id": "s1",
                "type": "t",
                "title": "seed",
                "content": "seed memory",
                "project": "fuzz",
            },
        )
    yield url
    process.terminate()
    process.wait(timeout=15)


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_keeps_its_word(case: schemathesis.Case[Any], memory_url: str) -> None:
    case.call_and_validate(
        base_url=memory_url,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
