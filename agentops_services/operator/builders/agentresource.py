"""AgentResource status: Accepted and Ready from the spec alone (§4.4).

The block-per-kind rule (and "documentation needs urls or configMapRef") are CEL rules of
`AgentResourceSpec`, enforced by the API server on create and update. They are evaluated again
here, from the same rule text, so an object stored before a rule existed still gets an honest
condition instead of silently counting as ready. An AgentResource has no children: it is
metadata that agents (config.json) and git workspaces read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentops_services.api.v1alpha1.agentresource import AgentResource
from agentops_services.api.validation import cel_errors
from agentops_services.operator.builders.conditions import (
    ACCEPTED,
    READY,
    DesiredCondition,
    condition,
)


@dataclass(frozen=True)
class ResourceVerdict:
    """What the AgentResource controller writes to status."""

    phase: Literal["Ready", "Failed"]
    conditions: tuple[DesiredCondition, DesiredCondition]


def evaluate_resource(resource: AgentResource) -> ResourceVerdict:
    """Accepted and Ready, both True with reason Valid, or both False with every problem."""
    issues = [str(error) for error in cel_errors(resource.spec, path=("spec",))]
    spec = resource.spec
    if issues:
        message = "; ".join(issues)
        return ResourceVerdict(
            "Failed",
            (
                condition(ACCEPTED, "False", "InvalidSpec", message),
                condition(READY, "False", "InvalidSpec", message),
            ),
        )
    return ResourceVerdict(
        "Ready",
        (
            condition(ACCEPTED, "True", "Valid", f"Spec is valid for kind {spec.kind}"),
            condition(
                READY,
                "True",
                "Valid",
                f'AgentResource "{spec.display_name}" ({spec.kind}) is ready',
            ),
        ),
    )
