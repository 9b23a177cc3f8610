"""Status conditions with the semantics of Kubernetes' `meta.SetStatusCondition`.

Status evaluators elsewhere in `builders/` return a `DesiredCondition` (what is true now);
`set_condition` merges it into the stored list. Two rules make the result honest and quiet:
`lastTransitionTime` moves only when the status flips (so "Ready since 3h" means something),
and every condition carries the `observedGeneration` it was computed from (upstream never set
it, so a client could not tell a stale Ready from a current one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1.meta import ConditionStatus

READY = "Ready"
ACCEPTED = "Accepted"


class DesiredCondition(TypedDict):
    """What a condition should say now: `set_condition(conds, **desired,
    observed_generation=..., now=...)`. Same shape as `security.violations_condition`."""

    type: str
    status: ConditionStatus
    reason: str
    message: str


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """A new list with the condition of `type` (named as in metav1) upserted; the input is
    not modified.

    The transition time is kept when the status is unchanged, even if reason or message
    change; a new condition type is appended so existing order (and the diff) stays stable.
    """
    updated: list[dict[str, Any]] = []
    found = False
    for existing in conditions or ():
        if existing.get("type") != type:
            updated.append(dict(existing))
            continue
        found = True
        same_status = existing.get("status") == status and "lastTransitionTime" in existing
        since = existing["lastTransitionTime"] if same_status else format_time(now)
        updated.append(_condition(type, status, reason, message, observed_generation, since))
    if not found:
        updated.append(
            _condition(type, status, reason, message, observed_generation, format_time(now))
        )
    return updated


def set_conditions(
    conditions: Sequence[Mapping[str, Any]] | None,
    desired: Sequence[DesiredCondition],
    observed_generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """`set_condition` for each desired condition in turn."""
    result = [dict(c) for c in conditions or ()]
    for condition in desired:
        result = set_condition(
            result, **condition, observed_generation=observed_generation, now=now
        )
    return result


def _condition(
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    observed_generation: int | None,
    since: str,
) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": type_, "status": status}
    if observed_generation is not None:
        condition["observedGeneration"] = observed_generation
    condition |= {"lastTransitionTime": since, "reason": reason, "message": message}
    return condition


def condition(type_: str, status: ConditionStatus, reason: str, message: str) -> DesiredCondition:
    """A DesiredCondition in one line (the evaluators build many)."""
    return DesiredCondition(type=type_, status=status, reason=reason, message=message)


def desired_status(
    current: Mapping[str, Any] | None,
    conditions: Sequence[DesiredCondition],
    observed_generation: int | None,
    now: datetime,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """What a status should hold for the keys it sets: `fields` (camelCase; None removes a
    key), the generation it was computed from, and `conditions` merged into `current`'s."""
    merged = set_conditions((current or {}).get("conditions"), conditions, observed_generation, now)
    return {**fields, "observedGeneration": observed_generation, "conditions": merged}
