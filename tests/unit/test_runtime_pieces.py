"""Small parts of the runtime: retry delays, prompt blocks, the task result, the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentops_services.api.conversation import Message
from agentops_services.api.runtime_api import ResourceContext, TaskResult
from agentops_services.api.script import Script
from agentops_services.runtime.loop import LoopSettings, retry_delay
from agentops_services.runtime.prompt import resource_context, system_parts
from agentops_services.runtime.providers import base as model
from agentops_services.runtime.providers.http import retry_after
from agentops_services.runtime.providers.scripted import ScriptedProvider, load_script
from agentops_services.runtime.task import termination_message


@pytest.mark.parametrize(
    ("attempt", "after", "delay"),
    [(0, None, 2.0), (1, None, 4.0), (0, 0.5, 0.5), (1, 0.0, 4.0), (0, 90.0, 2.0), (6, 90, 60.0)],
)
def test_retry_delay_backs_off_and_honours_sensible_retry_after(
    attempt: int, after: float | None, delay: float
) -> None:
    assert retry_delay(LoopSettings(), attempt, after) == delay


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after({"retry-after": "3"}) == 3
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_system_parts_inject_even_without_a_system_prompt() -> None:
    parts = system_parts("You are a, a daemon agent.", "", "<memory:context/>", "")
    assert [(p.text, p.cache) for p in parts] == [
        ("You are a, a daemon agent.", True),
        ("<memory:context/>", False),
    ]
    full = system_parts("Protocol.", "Be brief.")
    assert [p.cache for p in full] == [False, True]


def test_resource_context_block_follows_the_upstream_layout() -> None:
    items = [
        ResourceContext(resource_name="core", item_type="file", path="main.go", ref="dev"),
        ResourceContext(resource_name="core", item_type="commit", sha="abcdef123", title="Fix"),
        ResourceContext(
            resource_name="core",
            item_type="issue",
            number=7,
            title="Crash",
            url="https://x/7",
            description="d" * 600,
        ),
    ]
    block = resource_context(items)
    assert block.splitlines()[:5] == [
        "[Resource Context — the user selected the following items for this message]",
        "",
        "- File: `main.go` (ref: dev) from core",
        "- Commit: abcdef1 — Fix from core",
        "- Issue #7: Crash (https://x/7) from core",
    ]
    assert block.splitlines()[5] == "  " + "d" * 500 + "..."
    assert block.endswith("\n\n")
    many = resource_context([ResourceContext(resource_name="r", path=str(n)) for n in range(30)])
    assert many.count("\n- ") == 20


def test_the_termination_message_stays_valid_json_within_4_kib() -> None:
    result = TaskResult(output="é" * 5000, steps=3, model="m", success=True, trace_id="t" * 32)
    message = termination_message(result)
    assert len(message.encode()) <= 4096
    parsed = json.loads(message)
    assert parsed["output"].endswith(" [truncated]") and parsed["traceID"] == "t" * 32
    small = TaskResult(output="ok", steps=1, model="m", success=True)
    assert json.loads(termination_message(small))["output"] == "ok"


async def test_the_scripted_model_picks_matching_turns_then_says_it_is_done(
    tmp_path: Path,
) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(
        "turns:\n"
        "  - match: pods\n    text: Three pods.\n"
        "  - text: Anything else?\n"
        "    toolCalls: [{name: bash, input: {command: ls}}]\n"
    )
    provider = ScriptedProvider("demo", load_script(path))

    async def ask(text: str) -> list[model.ModelEvent]:
        request = model.ModelRequest(model="replay", system=[], messages=[Message.user(text)])
        return [event async for event in provider.stream(request)]

    first = await ask("show pods")
    assert "".join(e.delta for e in first if isinstance(e, model.TextDelta)) == "Three pods."
    second = await ask("more")
    calls = [e for e in second if isinstance(e, model.ToolCallReady)]
    assert [(c.name, json.loads(c.input)) for c in calls] == [("bash", {"command": "ls"})]
    finish = second[-1]
    assert isinstance(finish, model.StepFinish) and finish.finish_reason == "tool-calls"
    third = await ask("and?")
    text = "".join(e.delta for e in third if isinstance(e, model.TextDelta))
    assert text.startswith("This is the scripted demo model")


def test_a_bad_script_names_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text("turns:\n  - match: '('\n")
    with pytest.raises(ValueError, match=r"script.yaml: .*turns\.0\.match.*invalid regular"):
        load_script(path)
    assert Script().pick(0, "x")[1] == 0
