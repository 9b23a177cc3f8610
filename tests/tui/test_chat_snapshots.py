"""SVG snapshots of the chat screen in its in-between states, drawn from FEP events as the
runtime sends them: half a markdown code fence, half a tool call's JSON arguments, a pending
permission, a question, an error with retry, a delegation result, a fan-out half done. The
session is a real ChatSession whose transcript is fed those events (nothing is fetched); the
console is the real one on the control plane (tests/tui/sample_console.py). Update with
`pytest --snapshot-update` and review the SVGs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot

from agentops_services.api import fep
from agentops_services.testing.controlplane import ControlPlane
from agentops_tui.app import AgentOpsApp
from agentops_tui.screens.chat import ChatScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.services.chat.client import ChatClient
from agentops_tui.services.chat.session import ChatSession
from tests.tui.sample_console import cleanup, console, populate, steady

pytestmark = pytest.mark.kube
NAMESPACE = "chat-snapshots"
SIZES = [(120, 40), (80, 24)]
SESSION = "s-1"
FENCE = "Here is the check:\n\n```python\ndef healthy(pod):\n    return pod.status"
BASH = '{"command": "kubectl get pods -n payments --field-selector=status.ph'
DELEGATED = {
    "review-1": fep.DelegatedRun(phase="Succeeded", agent_name="reviewer", duration="42s"),
    "audit-1": fep.DelegatedRun(phase="Failed", agent_name="auditor", duration="1m3s",
                                failure_reason="quota exceeded"),
}  # fmt: skip


def turn(*events: fep.FepEventBase) -> list[fep.FepEventBase]:
    budget = fep.ContextBudgetSnapshot(context_window=200_000, actual_input_tokens=61_000)
    return [
        fep.AgentStart(
            session_id=SESSION, prompt="Why is payments failing?", context_budget=budget
        ),
        fep.StepStart(step_number=0, session_id=SESSION),
        *events,
    ]


STATES: dict[str, list[fep.FepEventBase]] = {
    "half-fence": turn(fep.TextStart(id="t1"), fep.TextDelta(id="t1", delta=FENCE)),
    "half-tool-arguments": turn(
        fep.ToolInputStart(id="c1", tool_name="bash"), fep.ToolInputDelta(id="c1", delta=BASH)
    ),
    "permission": turn(
        fep.ToolCall(id="c1", tool_name="bash", input='{"command": "kubectl delete pod api-0"}'),
        fep.PermissionAsked(
            id="p1",
            session_id=SESSION,
            tool_name="bash",
            input='{"command": "kubectl delete pod api-0"}',
            description="Run a shell command in the workspace",
        ),
    ),
    "question": turn(
        fep.QuestionAsked(
            id="q1",
            session_id=SESSION,
            questions=[
                fep.Question(
                    header="Rollout",
                    question="Which environment should I restart?",
                    options=[
                        fep.QuestionOption(label="staging", description="safe to try"),
                        fep.QuestionOption(label="prod"),
                    ],
                )
            ],
        ),
    ),
    "error": turn(
        fep.TextStart(id="t1"),
        fep.TextDelta(id="t1", delta="Looking at the pods"),
        fep.AgentError(session_id=SESSION, error="anthropic: 429 rate limited", retryable=True),
        fep.SessionIdle(session_id=SESSION),
    ),
    "delegation": turn(
        fep.DelegationResult(
            group_id="g1",
            single=False,
            timed_out=False,
            total_duration="1m3s",
            succeeded=1,
            failed=1,
            runs=DELEGATED,
            parent_agent="reviewer",
        ),
    ),
    "fan-out": turn(
        fep.ToolCall(id="c1", tool_name="run_agents", input='{"agents": 4}'),
        fep.DelegationFanOut(
            group_id="g1",
            count=4,
            timeout="2025-03-01T10:05:00Z",
            run_names=["review-1", "audit-1", "lint-1", "docs-1"],
            parent_agent="reviewer",
        ),
        *(
            fep.DelegationRunCompleted(
                group_id="g1",
                run_name=run,
                child_agent=agent,
                phase=phase,
                duration=duration,
                remaining=remaining,
                parent_agent="reviewer",
            )
            for run, agent, phase, duration, remaining in (
                ("audit-1", "auditor", "Failed", "1m3s", 3),
                ("review-1", "reviewer", "Succeeded", "42s", 2),
            )
        ),
    ),
}


@pytest.fixture(scope="module")
def frozen_now(control_plane: ControlPlane) -> Iterator[datetime]:
    yield asyncio.run(populate(control_plane.kubeconfig, NAMESPACE))
    asyncio.run(cleanup(control_plane.kubeconfig, NAMESPACE))


def chat_in(events: list[fep.FepEventBase]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def open_chat(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AgentOpsApp) and isinstance(app.screen, ResourceListScreen)
        unused = httpx.AsyncClient(base_url="http://127.0.0.1:9")  # the session never calls
        session = ChatSession("reviewer", ChatClient(unused))
        for event in events:
            session.transcript.apply(event)
        session.transcript.model = "claude-sonnet-4-5"
        session.ready.set()
        await app.push_screen(ChatScreen(app.backend, session))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return open_chat


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("state", list(STATES))
def test_chat_state(
    state: str,
    size: tuple[int, int],
    snap_compare: Any,
    control_plane: ControlPlane,
    frozen_now: datetime,
) -> None:
    app = console(control_plane.kubeconfig, "snapshot-context", NAMESPACE, frozen_now)
    assert snap_compare(app, terminal_size=size, run_before=steady(chat_in(STATES[state])))
