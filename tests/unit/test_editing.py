"""The CRD editor's pure parts: error header, submit outcomes, diff, schema help, cursor paths,
templates and the external editor (run for real with a tiny Python "editor")."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from agentops_services.api.validation import validate_resource
from agentops_services.api.yaml_source import load_documents
from agentops_services.kube.rest import Kube
from agentops_tui.services.editing import (
    Cancelled,
    Diff,
    EditSession,
    Invalid,
    KubeTarget,
    SaveRefusedError,
)
from agentops_tui.services.error_header import strip_error_header, with_error_header
from agentops_tui.services.external_editor import (
    EditorError,
    editor_command,
    run_editor,
)
from agentops_tui.services.object_view import editable_view, leftover_patch
from agentops_tui.services.schema_help import field_help, parse_path
from agentops_tui.services.templates import TEMPLATE_KINDS, new_from_template
from agentops_tui.services.yaml_cursor import path_at
from tests.conftest import SAMPLES

NO_KUBE = KubeTarget(cast(Kube, object()))  # submit() and check() never talk to the API server


def live_agent() -> dict[str, Any]:
    """The daemon sample as the API server returns it."""
    data: dict[str, Any] = load_documents((SAMPLES / "agent-daemon.yaml").read_text())[0].data
    data["metadata"] |= {
        "namespace": "team-a",
        "uid": "0b5a3c3e-1111-2222-3333-444455556666",
        "resourceVersion": "1234",
        "generation": 3,
        "creationTimestamp": "2025-01-01T00:00:00Z",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {}}],
    }
    data["status"] = {"phase": "Running"}
    return data


def session(show_managed_fields: bool = False) -> EditSession:
    return EditSession.of(NO_KUBE, live_agent(), show_managed_fields)


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- error header ------------------------------------------------------------------------


def test_error_header_replaces_the_previous_one_and_keeps_user_comments() -> None:
    text = "# my own note\nkind: Agent\n"
    once = with_error_header(text, ["first error"])
    twice = with_error_header(once, ["second error", "and another"])
    assert twice == "#! second error\n#! and another\n# my own note\nkind: Agent\n"
    assert strip_error_header(twice) == text


def test_error_header_keeps_one_line_per_message() -> None:
    assert with_error_header("a: 1\n", ["two\nlines"]) == "#! two lines\na: 1\n"


# --- the editable view -------------------------------------------------------------------


def test_view_drops_status_server_metadata_and_managed_fields_unless_asked() -> None:
    view = editable_view(live_agent())
    assert "status" not in view
    assert set(view["metadata"]) == {"name", "namespace", "resourceVersion"}
    shown = editable_view(live_agent(), show_managed_fields=True)
    assert shown["metadata"]["managedFields"][0]["manager"] == "kubectl"


def test_opened_text_is_the_view_under_an_intro_header() -> None:
    text = session().text
    assert text.startswith("#! Editing Agent team-a/code-review-agent.")
    assert "resourceVersion: '1234'" in text
    assert "managedFields" not in text
    assert "managedFields" in session(show_managed_fields=True).text


# --- submit ------------------------------------------------------------------------------


def test_unchanged_text_cancels() -> None:
    edit = session()
    assert edit.submit(edit.text) == Cancelled("no changes")
    reformatted = edit.text.replace("  mode: daemon\n", "  mode: daemon   # a comment\n")
    assert edit.submit(reformatted) == Cancelled("no changes")


def test_editing_only_managed_fields_cancels() -> None:
    edit = session(show_managed_fields=True)
    assert edit.submit(edit.text.replace("manager: kubectl", "manager: me")) == Cancelled(
        "no changes"
    )


def test_empty_text_cancels() -> None:
    assert session().submit("#! header\n# only comments\n\n") == Cancelled("the file is empty")


def test_change_gives_a_diff_of_live_and_edited() -> None:
    edit = session()
    outcome = edit.submit(edit.text.replace("maxSteps: 50", "maxSteps: 60"))
    assert isinstance(outcome, Diff)
    assert "-  maxSteps: 50\n+  maxSteps: 60\n" in outcome.diff
    assert outcome.diff.startswith("--- Agent team-a/code-review-agent live\n")
    assert outcome.manifest["spec"]["maxSteps"] == 60
    assert "managedFields" not in outcome.manifest["metadata"]


def test_yaml_syntax_error_names_the_line_in_the_reopened_text() -> None:
    edit = session()
    broken = edit.text.replace("  maxSteps: 50\n", "  maxSteps: [50\n")
    outcome = edit.submit(broken)
    assert isinstance(outcome, Invalid)
    [problem] = outcome.problems
    assert "YAML syntax error" in problem.message
    reopened = outcome.reopen_text.splitlines()
    assert reopened[0] == "#! Not saved: 1 problem(s) found before sending."
    assert reopened[1].startswith(f"#! line {problem.line}: YAML syntax error")
    # The parser stops a line or so after the open bracket: the reported line is near it.
    assert abs(problem.line - line_of(outcome.reopen_text, "maxSteps: [50")) <= 1
    assert strip_error_header(outcome.reopen_text) == strip_error_header(broken)
    assert edit.text == outcome.reopen_text


def test_cel_rule_is_checked_in_process_naming_field_and_line() -> None:
    edit = session()
    outcome = edit.submit(edit.text.replace("mode: daemon", "mode: task"))
    assert isinstance(outcome, Invalid)
    fields = {p.field: p for p in outcome.problems}
    storage = fields["spec.storage"]
    assert "Forbidden" in storage.message
    assert storage.line == line_of(outcome.reopen_text, "  storage:")
    assert f"#! line {storage.line}: spec.storage: Forbidden" in outcome.reopen_text


def test_schema_error_names_field_and_line() -> None:
    edit = session()
    outcome = edit.submit(edit.text.replace("temperature: 0.3", "temperature: 7"))
    assert isinstance(outcome, Invalid)
    [problem] = outcome.problems
    assert problem.field == "spec.temperature"
    assert problem.line == line_of(outcome.reopen_text, "temperature: 7")


def test_errors_of_a_resubmission_replace_the_previous_ones() -> None:
    edit = session()
    first = edit.submit(edit.text.replace("temperature: 0.3", "temperature: 7"))
    assert isinstance(first, Invalid)
    second = edit.submit(first.reopen_text.replace("maxSteps: 50", "maxSteps: 0"))
    assert isinstance(second, Invalid)
    assert second.reopen_text.count("Not saved") == 1
    assert {p.field for p in second.problems} == {"spec.temperature", "spec.maxSteps"}


def test_renaming_is_refused_before_the_server() -> None:
    edit = session()
    outcome = edit.submit(edit.text.replace("name: code-review-agent", "name: copy"))
    assert isinstance(outcome, Invalid)
    [problem] = outcome.problems
    assert problem.field == "metadata.name"
    assert "cannot be changed" in problem.message
    assert problem.line == line_of(outcome.reopen_text, "name: copy")


def test_transition_rules_see_the_live_object() -> None:
    run: dict[str, Any] = load_documents((SAMPLES / "agentrun.yaml").read_text())[0].data
    run["metadata"] |= {"namespace": "team-a", "resourceVersion": "7"}
    stored = validate_resource(run).resource
    assert stored is not None
    edit = EditSession.of(NO_KUBE, stored.to_wire())
    opened = edit.text
    outcome = edit.submit(opened.replace("sourceRef: gitlab-mr-channel", "sourceRef: other"))
    assert isinstance(outcome, Invalid)
    assert "spec is immutable" in outcome.problems[0].message
    labelled = opened.replace("  labels:\n", "  labels:\n    team: a\n")
    assert isinstance(edit.submit(labelled), Diff)


def test_check_counts_lines_in_the_text_as_given() -> None:
    edit = session()
    text = edit.text.replace("temperature: 0.3", "temperature: 7")
    [problem] = edit.check(text)
    assert problem.line == line_of(text, "temperature: 7")


def test_missing_namespace_is_filled_in() -> None:
    edit = session()
    outcome = edit.submit(edit.text.replace("  namespace: team-a\n", "").replace("50", "51"))
    assert isinstance(outcome, Diff)
    assert outcome.manifest["metadata"]["namespace"] == "team-a"


class _Unreachable:
    """A Kube whose API server cannot be reached."""

    async def get(self, *_: object) -> None:
        raise aiohttp.ClientConnectionError("Connection refused")


async def test_opening_without_the_api_server_is_a_refusal_not_a_traceback() -> None:
    target = KubeTarget(cast(Kube, _Unreachable()))
    with pytest.raises(SaveRefusedError) as refused:
        await EditSession.open(target, "Agent", "team-a", "reviewer")
    assert refused.value.message == "cannot reach the API server: Connection refused"


# --- removals server-side apply keeps ----------------------------------------------------


def test_leftover_patch_removes_deleted_keys_and_resets_changed_lists() -> None:
    opened = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": [1, 2], "y": 1}}
    edited = {"metadata": {"labels": {"a": "1"}}, "spec": {"x": [1]}}
    applied = {
        "metadata": {"labels": {"a": "1", "b": "2"}, "uid": "u"},
        "spec": {"x": [1, 2], "y": 1},
    }
    assert leftover_patch(opened, edited, applied) == {
        "metadata": {"labels": {"b": None}},
        "spec": {"x": [1], "y": None},
    }
    done = copy.deepcopy(edited)
    assert leftover_patch(opened, edited, done) is None


# --- templates ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_every_template_is_valid_and_submits_to_a_diff(kind: str) -> None:
    text = new_from_template(kind, "team-a")
    assert text.count("\n  # ") + text.count("   # ") >= 1, "templates explain their fields"
    edit = EditSession.create(NO_KUBE, kind, "team-a")
    outcome = edit.submit(edit.text)
    assert isinstance(outcome, Diff), outcome
    assert outcome.manifest["kind"] == kind
    assert outcome.manifest["metadata"]["namespace"] == "team-a"


def test_template_must_stay_in_its_namespace_and_kind() -> None:
    edit = EditSession.create(NO_KUBE, "Provider", "team-a")
    outcome = edit.submit(edit.text.replace("namespace: team-a", "namespace: team-b"))
    assert isinstance(outcome, Invalid)
    assert [p.field for p in outcome.problems] == ["metadata.namespace"]


def test_templates_cover_all_six_kinds() -> None:
    assert set(TEMPLATE_KINDS) == {
        "Agent", "AgentRun", "AgentTool", "AgentResource", "Channel", "Provider"
    }  # fmt: skip


# --- schema help -------------------------------------------------------------------------


def test_field_help_describes_a_nested_field() -> None:
    help_ = field_help("Agent", "spec.tools[0].permissions.mode")
    assert help_ is not None
    assert help_.path == "spec.tools.permissions.mode"
    assert help_.type == "string"
    assert help_.enum == ("deny", "allow")
    assert help_.required
    assert "deny blocks calls" in help_.description
    assert field_help("Agent", ("spec", "tools", "permissions", "mode")) == help_


def test_field_help_types_defaults_children_and_rules() -> None:
    spec = field_help("Agent", "spec")
    assert spec is not None
    assert {"mode", "model", "providerRefs"} <= set(spec.fields)
    assert spec.rules, "the spec's CEL rules are listed"
    tools = field_help("Agent", "spec.builtinTools")
    assert tools is not None
    assert tools.type.startswith("[]")
    limits = field_help("Agent", "spec.resources.limits")
    assert limits is not None
    assert limits.type == "map[string]int-or-string"
    auto = field_help("Agent", "spec.tools.autoContext")
    assert auto is not None
    assert auto.default is False
    assert field_help("Agent", "spec.resources.limits.memory") is not None
    assert field_help("Agent", "spec.nope") is None
    assert field_help("Nope", "spec") is None


def test_parse_path() -> None:
    assert parse_path("spec.tools[0].name") == ["spec", "tools", 0, "name"]
    assert parse_path("spec.a[1][2]") == ["spec", "a", 1, 2]


# --- cursor -> field path ----------------------------------------------------------------

CURSOR_TEXT = """\
apiVersion: agents.agentops.io/v1alpha1
kind: Agent
metadata:
  name: a
spec:
  builtinTools: [bash, read]
  providerRefs:
    - name: anthropic
      overrides:
        openai: {reasoningEffort: low}
  systemPrompt: |
    first line

    third line
  # a comment
  maxSteps: 5
"""


@pytest.mark.parametrize(
    ("line", "column", "path"),
    [
        (0, 0, ("apiVersion",)),
        (3, 0, ("metadata", "name")),  # in the indentation
        (3, 9, ("metadata", "name")),  # on the value
        (4, 5, ("spec",)),  # after `spec:`
        (5, 2, ("spec", "builtinTools")),
        (5, 23, ("spec", "builtinTools", 1)),
        (5, 28, ("spec", "builtinTools")),  # end of the line
        (7, 4, ("spec", "providerRefs", 0, "name")),  # on the dash
        (9, 8, ("spec", "providerRefs", 0, "overrides", "openai")),
        (9, 20, ("spec", "providerRefs", 0, "overrides", "openai", "reasoningEffort")),
        (10, 16, ("spec", "systemPrompt")),
        (13, 6, ("spec", "systemPrompt")),
        (15, 12, ("spec", "maxSteps")),
    ],
)
def test_path_at(line: int, column: int, path: tuple[str | int, ...]) -> None:
    assert path_at(CURSOR_TEXT, line, column) == path


def test_path_at_is_none_where_there_is_no_field() -> None:
    assert path_at(CURSOR_TEXT, 14, 4) is None  # comment
    assert path_at(CURSOR_TEXT, 12, 0) is None  # blank line
    assert path_at(CURSOR_TEXT, 99, 0) is None
    assert path_at("a: [\n", 0, 0) is None  # does not parse


def test_cursor_path_feeds_field_help() -> None:
    path = path_at(CURSOR_TEXT, 9, 20)
    assert path is not None
    help_ = field_help("Agent", path)
    assert help_ is not None
    assert help_.path == "spec.providerRefs.overrides.openai.reasoningEffort"


# --- external editor ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "command"),
    [
        ({"KUBE_EDITOR": "code --wait", "EDITOR": "nano"}, ["code", "--wait"]),
        ({"KUBE_EDITOR": "  ", "EDITOR": "emacs -nw"}, ["emacs", "-nw"]),
        ({"EDITOR": "'/opt/my editor/bin/ed' -s"}, ["/opt/my editor/bin/ed", "-s"]),
        ({"VISUAL": "gedit"}, ["vi"]),
        ({}, ["vi"]),
    ],
)
def test_editor_command_follows_kubectl(env: dict[str, str], command: list[str]) -> None:
    assert editor_command(env) == command


def write_editor(tmp_path: Path, body: str) -> list[str]:
    """A real editor: a Python script that rewrites the file it is given."""
    script = tmp_path / "editor.py"
    script.write_text(f"import pathlib, sys\npath = pathlib.Path(sys.argv[1])\n{body}\n")
    return [sys.executable, str(script)]


def test_run_editor_round_trips_through_a_yaml_temp_file(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    command = write_editor(
        tmp_path,
        f"pathlib.Path({str(seen)!r}).write_text(str(path))\n"
        "path.write_text(path.read_text().replace('maxSteps: 5', 'maxSteps: 6'))",
    )
    edited = run_editor(CURSOR_TEXT, command, name="Agent/a")
    assert edited == CURSOR_TEXT.replace("maxSteps: 5", "maxSteps: 6")
    used = Path(seen.read_text())
    assert used.suffix == ".yaml"
    assert used.name.startswith("agentops-Agent-a-")
    assert not used.exists(), "the temp file is removed"


def test_failing_editor_keeps_what_was_written(tmp_path: Path) -> None:
    command = write_editor(tmp_path, "path.write_text('half done')\nsys.exit(3)")
    with pytest.raises(EditorError, match="status 3") as failure:
        run_editor("start", command)
    assert failure.value.text == "half done"


def test_missing_editor_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EditorError, match="cannot run editor") as failure:
        run_editor("start", [str(tmp_path / "no-such-editor")])
    assert failure.value.text == "start"
