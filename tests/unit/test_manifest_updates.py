"""What validation says about updates and status writes, as the API server says it: transition
rules against the stored object, the status schema on its own, and the document kept as
written."""

from __future__ import annotations

from agentops_services.api.manifests import check_manifests
from agentops_services.api.validation import validate_resource, validate_status
from tests.conftest import SAMPLES

RUN = (SAMPLES / "agentrun.yaml").read_text()


def test_a_changed_run_spec_breaks_the_transition_rule_only_on_update() -> None:
    stored = validate_resource(check_manifests(RUN)[0][0].data).resource
    assert stored is not None
    edited = RUN.replace("Review merge request !42", "Review merge request !43")
    [fresh], _ = check_manifests(edited)
    assert fresh.errors == []
    [update], _ = check_manifests(edited, lambda kind, name: stored.to_defaulted())
    [problem] = update.errors
    assert problem.field == "spec"
    assert "spec is immutable: create a new AgentRun" in problem.message
    [same], _ = check_manifests(RUN, lambda kind, name: stored.to_defaulted())
    assert same.errors == []


def test_status_is_checked_against_its_schema_in_the_api_servers_words() -> None:
    assert validate_status("AgentRun", {"phase": "Running", "tokensUsed": 3}) == []
    assert validate_status("Agent", None) == []
    errors = validate_status("AgentRun", {"phase": "Sleeping", "tokensUsed": "3"})
    assert [(e.field, e.detail.split(":")[0]) for e in errors] == [
        ("status.phase", "Unsupported value"),
        ("status.tokensUsed", "Invalid value"),
    ]
    assert "status.tokensUsed in body must be of type integer" in errors[1].detail


def test_reports_keep_the_document_as_written() -> None:
    [report], _ = check_manifests("kind: AgentRun\napiVersion: agents.agentops.io/v1alpha1\n")
    assert list(report.data) == ["kind", "apiVersion"]
