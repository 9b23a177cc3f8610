"""The pieces of `l` that need no cluster: the capped buffer and its filter, the state line,
which pod an object's logs come from, and how a reconnect recognises lines it has seen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agentops_services.kube.podlogs import (
    LogLine,
    LogStatus,
    _Replay,
    finished,
    instant,
    refusal,
    split_timestamp,
)
from agentops_tui.backends.base import BackendError
from agentops_tui.backends.pods import (
    AGENT_LABEL,
    COMPONENT_LABEL,
    MAIN_CONTAINER,
    log_target,
    pod_selector,
    runtime_selector,
)
from agentops_tui.screens.logs import state_line
from agentops_tui.services.log_buffer import LogBuffer, formatted, matching
from agentops_tui.widgets.filter_bar import RowFilter

GOLDEN = Path(__file__).with_name("golden")


def texts(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines]


def test_the_buffer_keeps_the_newest_lines_and_hands_each_to_the_view_once() -> None:
    buffer = LogBuffer(capacity=3)
    for i in range(5):
        buffer.append(LogLine(f"line {i}"))
    assert len(buffer) == 3 and buffer.received == 5
    assert texts(buffer.take_unshown()) == ["line 2", "line 3", "line 4"]
    assert buffer.take_unshown() == []
    buffer.append(LogLine("line 5"))
    assert texts(buffer.snapshot()) == ["line 3", "line 4", "line 5"]
    assert buffer.take_unshown() == [], "a snapshot includes what was unshown"
    buffer.clear()
    assert len(buffer) == 0 and buffer.received == 0


def test_the_filter_is_a_case_blind_regex_or_its_inverse_over_the_text_as_shown() -> None:
    lines = [LogLine("GET /health 200"), LogLine("\x1b[31mERROR\x1b[0m boom"), LogLine("ok")]
    assert matching(lines, RowFilter()) == lines
    assert texts(matching(lines, RowFilter.parse("error"))) == ["\x1b[31mERROR\x1b[0m boom"]
    assert texts(matching(lines, RowFilter.parse("!error|health"))) == ["ok"]
    assert matching(lines, RowFilter.parse("31m")) == [], "colour codes are not text"


def test_rows_carry_the_timestamp_when_asked_and_wrap_at_the_width_in_cells() -> None:
    lines = [LogLine("\x1b[1mabcdefgh\x1b[0m", "2026-01-01T00:00:00Z"), LogLine(""),
             LogLine("日本語のログ")]  # fmt: skip
    assert formatted(lines, False, None) == ["abcdefgh", " ", "日本語のログ"]
    assert formatted(lines[:1], True, None) == ["2026-01-01T00:00:00Z abcdefgh"]
    assert formatted(lines, False, 5) == ["abcde", "fgh", " ", "日本", "語の", "ログ"]


def test_the_state_line_says_following_paused_or_why_the_stream_is_not_streaming() -> None:
    streaming = LogStatus("streaming")
    assert state_line(True, streaming, RowFilter(), False) == "following"
    waiting = LogStatus("reconnecting", "the log stream ended")
    assert state_line(False, waiting, RowFilter.parse("!x"), True) == (
        "paused · reconnecting: the log stream ended · filter !x · wrap"
    )
    assert state_line(True, LogStatus("ended", "pod a was deleted"), RowFilter(), False) == (
        "ended: pod a was deleted"
    )


def test_the_selector_matches_the_pods_the_operator_builds() -> None:
    """Against the builders' golden output: the daemon Deployment's pod template and the task
    Job's both run the main container, and the daemon's labels are the runtime selector's."""
    documents = yaml.safe_load_all((GOLDEN / "agent_daemon.yaml").read_text())
    deployment = next(d for d in documents if d and d["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    selected = dict(part.split("=") for part in runtime_selector("code-review-agent").split(","))
    assert selected.items() <= template["metadata"]["labels"].items()
    assert template["spec"]["containers"][0]["name"] == MAIN_CONTAINER
    job = yaml.safe_load((GOLDEN / "job_task.yaml").read_text())
    assert job["spec"]["template"]["spec"]["containers"][0]["name"] == MAIN_CONTAINER


def obj(name: str, created: str = "2026-01-01T00:00:00Z", **fields: object) -> dict[str, object]:
    return {"metadata": {"name": name, "creationTimestamp": created}, **fields}


AGENTS = [obj("daemon", spec={"mode": "daemon"}), obj("task", spec={"mode": "task"}),
          obj("fresh", spec={"mode": "task"})]  # fmt: skip
RUNS = [
    obj("task-1", "2026-01-01T00:00:00Z", spec={"agentRef": "task"}, status={"jobName": "task-1"}),
    obj("task-2", "2026-01-02T00:00:00Z", spec={"agentRef": "task"}, status={"jobName": "task-2"}),
    obj("task-3", "2026-01-03T00:00:00Z", spec={"agentRef": "task"}, status={"phase": "Queued"}),
    obj("daemon-1", spec={"agentRef": "daemon"}, status={"phase": "Running"}),
]
SELECTOR = {"matchLabels": {"app": "memory"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}  # fmt: skip
ITEMS = {"Agent": AGENTS, "AgentRun": RUNS,
         "Deployment": [obj("memory", spec={"selector": SELECTOR})]}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "name", "selector"),
    [
        ("Agent", "daemon", f"{AGENT_LABEL}=daemon,{COMPONENT_LABEL}=runtime"),
        ("Agent", "task", "job-name=task-2"),  # the newest run that has a Job
        ("AgentRun", "task-1", "job-name=task-1"),
        ("AgentRun", "daemon-1", f"{AGENT_LABEL}=daemon,{COMPONENT_LABEL}=runtime"),
        ("Job", "task-1", "job-name=task-1"),
        ("Deployment", "memory", "app=memory,tier in (a,b),!canary"),
    ],
)
def test_the_pod_of_an_object(kind: str, name: str, selector: str) -> None:
    assert pod_selector(kind, name, ITEMS.__getitem__)[0] == selector


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("Agent", "fresh", "Agent fresh runs as a task and has no runs yet"),
        ("Agent", "gone", "Agent gone is gone"),
        ("AgentRun", "task-3", "AgentRun task-3 has no Job yet (Queued)"),
        ("Provider", "anthropic", "Providers have no logs"),
    ],
)
def test_an_object_without_a_pod_says_why(kind: str, name: str, message: str) -> None:
    with pytest.raises(BackendError, match=re.escape(message)):
        pod_selector(kind, name, ITEMS.__getitem__)


def test_the_main_container_comes_first_then_the_others_and_init_containers() -> None:
    pod = obj("p", spec={"containers": [{"name": "proxy"}, {"name": "agent-runtime"}],
                         "initContainers": [{"name": "gateway"}]})  # fmt: skip
    target = log_target("ns", pod)
    assert target.containers == ("agent-runtime", "proxy", "gateway")


def test_timestamps_compare_as_times_whatever_their_fraction_digits() -> None:
    assert instant("2026-01-01T00:00:00.5Z") == instant("2026-01-01T00:00:00.500000000Z")
    earlier, later = instant("2026-01-01T00:00:00.9Z"), instant("2026-01-01T00:00:00.10000001Z")
    assert earlier is not None and later is not None and earlier > later
    assert instant("2026-01-01T01:00:00+01:00") == instant("2026-01-01T00:00:00Z")
    assert split_timestamp("2026-01-01T00:00:00Z hello world") == LogLine(
        "hello world", "2026-01-01T00:00:00Z"
    )
    assert split_timestamp("no timestamp here") == LogLine("no timestamp here")


def test_a_reconnect_skips_exactly_the_lines_it_has_delivered() -> None:
    replay = _Replay()
    assert replay.restart() is None
    a, b = LogLine("a", "2026-01-01T00:00:01.1Z"), LogLine("b", "2026-01-01T00:00:01.2Z")
    b2, c = LogLine("b2", "2026-01-01T00:00:01.2Z"), LogLine("c", "2026-01-01T00:00:02Z")
    assert replay.fresh(a) and replay.fresh(b)
    assert replay.restart() == "2026-01-01T00:00:01Z"
    assert [replay.fresh(line) for line in (a, b, b2, c)] == [False, False, True, True]


def test_a_pod_is_finished_when_deleted_replaced_done_or_its_container_will_not_restart() -> None:
    def pod(**status: object) -> dict[str, object]:
        return {"metadata": {"uid": "u1"}, "spec": {"restartPolicy": "Never"}, "status": status}

    assert finished(None, "p", "u1", "c") == "pod p was deleted"
    assert finished(pod(), "p", "u2", "c") == "pod p was replaced by a new one of the same name"
    assert finished(pod(phase="Succeeded"), "p", "u1", "c") == "pod p succeeded"
    terminated = {"name": "c", "state": {"terminated": {"reason": "Error", "exitCode": 2}}}
    assert finished(pod(phase="Running", containerStatuses=[terminated]), "p", "", "c") == (
        "container c exited: Error (code 2)"
    )
    assert finished(pod(phase="Running"), "p", "u1", "c") is None


def test_a_refusal_is_told_in_the_api_servers_words() -> None:
    body = b'{"kind":"Status","message":"container nope is not valid for pod p","code":400}'
    assert refusal(400, body) == "container nope is not valid for pod p"
    assert refusal(502, b"bad gateway\n") == "bad gateway"
    assert refusal(500, b"") == "HTTP 500"
