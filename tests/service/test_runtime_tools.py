"""The built-in tools through the whole runtime: the model calls each one (via the fake
provider) and its result reaches the next step; confinement and blocked commands come back as
results the model reads; resource context reaches the system prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agentops_services.httpapi.serving import serve_in_background
from tests.service.conftest import FakeProvider, agent_config, prompt_stream, running_runtime


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"toolCalls": [{"name": name, "id": call_id, "input": arguments}]}


def tool_outputs(fake: FakeProvider) -> dict[str, str]:
    """What the model was told each tool call returned (from the requests it received)."""
    outputs = {}
    for request in fake.llm.requests:
        for message in request.body.get("messages", []):
            if message.get("role") == "tool":
                outputs[message["tool_call_id"]] = message["content"]
    return outputs


async def page(_: object) -> HTMLResponse:
    return HTMLResponse(
        "<html><head><style>p {}</style><script>alert(1)</script></head>"
        "<body><h1>Runbook</h1><p>Restart the <b>ingress</b> pods.</p></body></html>"
    )


async def test_the_model_calls_every_builtin_tool_and_reads_the_results(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    async with serve_in_background(Starlette(routes=[Route("/runbook", page)])) as web:
        turns = [
            call("write", "w", path="app/main.py", content="print('hello')\n"),
            call("read", "r", path="app/main.py"),
            call("edit", "e", path="app/main.py",
                 edits=[{"oldText": "hello", "newText": "goodbye"}]),
            call("ls", "l", path="app"),
            call("glob", "g", pattern="**/*.py"),
            call("grep", "s", pattern="good.ye"),
            call("bash", "b", command="cat app/main.py && exit 3"),
            call("fetch", "f", url=f"{web.url}/runbook"),
            {"text": "All tools ran."},
        ]  # fmt: skip
        fake_llm.use({"turns": turns})
        config = agent_config(fake_llm, builtinTools=None)
        async with running_runtime(tmp_path, config, workspace=workspace) as runtime:
            events = await prompt_stream(runtime.client, "exercise the tools")
    advertised = [t["function"]["name"] for t in fake_llm.llm.requests[0].body["tools"]]
    assert advertised == ["bash", "read", "edit", "write", "grep", "ls", "glob", "fetch"]
    outputs = tool_outputs(fake_llm)
    assert outputs["w"] == "Wrote 15 bytes to app/main.py"
    assert outputs["r"] == "print('hello')"
    assert "-print('hello')\n+print('goodbye')" in outputs["e"]
    assert outputs["l"].endswith(" main.py")
    assert outputs["g"] == "app/main.py"
    assert outputs["s"].rstrip() == "app/main.py:1:print('goodbye')"
    assert outputs["b"] == "print('goodbye')\n\n[exit code 3]"
    assert "Runbook" in outputs["f"] and "Restart the ingress pods." in outputs["f"]
    assert "alert" not in outputs["f"]
    results = {e.data["id"]: e.data for e in events if e.type == "tool_result"}
    assert results["b"]["is_error"] is True
    assert json.loads(results["b"]["metadata"])["exitCode"] == 3
    assert {json.loads(r["metadata"])["ui"] for r in results.values()} == {
        "file-created", "code", "diff", "file-tree", "search-results", "terminal", "web-fetch"
    }  # fmt: skip
    assert (workspace / "app" / "main.py").read_text() == "print('goodbye')\n"


async def test_confinement_and_blocked_commands_are_results_the_model_reads(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "data").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("s3cr3t-value")
    (workspace / "data" / "escape").symlink_to(tmp_path / "secret.txt")
    turns = [
        call("read", "a", path="../secret.txt"),
        call("read", "b", path="data/escape"),
        call("bash", "c", command="sudo rm -rf /"),
        {"text": "Refused, as expected."},
    ]
    fake_llm.use({"turns": turns})
    hooks = {"allowedPaths": [str(workspace / "data")], "blockedCommands": ["rm -rf /"]}
    config = agent_config(fake_llm, builtinTools=["read", "bash"], toolHooks=hooks)
    async with running_runtime(tmp_path, config, workspace=workspace) as runtime:
        events = await prompt_stream(runtime.client, "try to escape")
    outputs = tool_outputs(fake_llm)
    assert outputs["a"].startswith("Path not in allowed list: ../secret.txt")
    assert outputs["b"].startswith("Path not in allowed list: data/escape")
    assert outputs["c"] == "Blocked command pattern: rm -rf /"
    assert "s3cr3t-value" not in json.dumps([e.data for e in events])
    assert any(e.type == "agent_finish" for e in events)


async def test_bound_resources_and_picked_items_reach_the_system_prompt(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "Noted."}]})
    resources = [
        {"name": "core", "kind": "github-repo", "displayName": "AgentOps Core",
         "autoContext": True, "readOnly": True,
         "github": {"owner": "agentops", "repo": "core", "defaultBranch": "main"}},
        {"name": "docs", "kind": "documentation", "displayName": "Docs", "autoContext": False,
         "documentation": {"urls": ["https://docs.example"]}},
    ]  # fmt: skip
    config = agent_config(fake_llm, resources=resources)
    context = [{"resource_name": "core", "kind": "github-repo", "item_type": "file",
                "path": "main.go", "ref": "dev"}]  # fmt: skip
    async with running_runtime(tmp_path, config) as runtime:
        await prompt_stream(runtime.client, "review it", context=context)
    system = fake_llm.llm.requests[0].body["messages"][0]["content"]
    assert "- AgentOps Core (github-repo): github.com/agentops/core, default branch main" in system
    assert "[read-only: do not change it]" in system
    assert "Docs" not in system
    assert "- File: `main.go` (ref: dev) from core" in system
