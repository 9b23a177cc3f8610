"""The console's sample namespace and how to photograph it, shared by the snapshot tests and
tools/screenshots.py so the README's pictures show what the tests check.

The objects have fixed names, specs and statuses (Providers and AgentTools come from samples/),
every timestamp in them is the first object's creation time, and the console's clock stands
90 s after it (every age reads "1m"), so a picture does not depend on when it is taken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from agentops_services.kube import resources as types
from agentops_services.kube.client import api_client
from agentops_services.kube.rest import Kube
from agentops_services.operator.names import mcp_server_url
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.cluster import ClusterBackend
from tests.conftest import SAMPLES
from tests.kube.operator_harness import agent, agent_run, create

AGE = timedelta(seconds=90)
"""How old the first object is on the console's clock."""


def _status(phase: str, since: str, ready: str = "True", **fields: Any) -> dict[str, Any]:
    """A status as the operator would write it: the phase and a Ready condition."""
    condition = {"type": "Ready", "status": ready, "reason": phase, "message": "",
                 "lastTransitionTime": since}  # fmt: skip
    return {"phase": phase, **fields, "conditions": [condition]}


def _sample_statuses(namespace: str) -> dict[str, dict[str, Any]]:
    """The samples/ files shown in the Provider and AgentTool views, with their statuses."""
    return {
        "provider-anthropic": {"phase": "Ready", "boundAgents": 3},
        "provider-openai": {"phase": "Ready", "boundAgents": 0},
        "agenttool-mcpserver": {
            "phase": "Ready",
            "sourceType": "mcpServer",
            "serviceURL": mcp_server_url("gitlab-mcp", namespace, 8080),
        },
        "agenttool-inline": {"phase": "Ready", "sourceType": "inline"},
        "agenttool-skill": {"phase": "Pending", "sourceType": "skill", "ready": "False"},
    }


async def populate(kubeconfig: str | Path, namespace: str) -> datetime:
    """Create `namespace` and the sample objects in it; the time the console's clock shows."""
    async with await api_client(kubeconfig) as api:
        k = Kube(api)
        await k.create(types.NAMESPACE, None, {"metadata": {"name": namespace}})
        first = await create(k, namespace, agent("reviewer"))
        since = first["metadata"]["creationTimestamp"]
        await create(k, namespace, agent("nightly-audit", mode="task"))
        await create(k, namespace, agent("triage"))
        for name, phase in (("reviewer", "Running"), ("nightly-audit", "Ready")):
            await k.patch(types.AGENT, namespace, name, {"status": _status(phase, since)},
                          subresource="status")  # fmt: skip
        await create(k, namespace, agent_run("audit-1", "nightly-audit"))
        await k.patch(types.AGENT, namespace, "triage", {"status": {"phase": "Failed"}},
                      subresource="status")  # fmt: skip
        for sample, status in _sample_statuses(namespace).items():
            body = yaml.safe_load((SAMPLES / f"{sample}.yaml").read_text())
            await create(k, namespace, body)
            kind, name = types.BY_KIND[body["kind"]], body["metadata"]["name"]
            await k.patch(kind, namespace, name, {"status": _status(since=since, **status)},
                          subresource="status")  # fmt: skip
    return datetime.fromisoformat(since.replace("Z", "+00:00")) + AGE


async def cleanup(kubeconfig: str | Path, namespace: str) -> None:
    async with await api_client(kubeconfig) as api:
        await Kube(api).delete(types.NAMESPACE, None, namespace)


def console(kubeconfig: str | Path, context: str, namespace: str, now: datetime) -> AgentOpsApp:
    """The real console on the cluster backend, its clock stopped at `now`."""

    async def connect(_context: str | None = None) -> ClusterBackend:
        api = await api_client(kubeconfig)
        return ClusterBackend(Kube(api), context, namespace, owns_client=True)

    return AgentOpsApp(connect, clock=lambda: now)


def steady(then: Callable[[Pilot[Any]], Awaitable[None]] | None = None) -> Any:
    """Before the picture: no blinking cursors, the view settled, then `then`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.wait_for_scheduled_animations()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if then is not None:
            await then(pilot)
        for field in [*pilot.app.screen.query(Input), *pilot.app.screen.query(TextArea)]:
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def press(pilot: Pilot[Any]) -> None:
        await pilot.press(*pressed)
        await pilot.pause()

    return press
