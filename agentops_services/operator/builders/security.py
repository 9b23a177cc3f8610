"""The restricted security floor (restricted Pod Security Standard), applied once to every pod
the operator builds, after the pod is otherwise complete.

Users may loosen nothing the restricted profile forbids: such override fields are dropped, the
floor value kept, and each is reported as a violation string (`pod.runAsUser=0`,
`container.privileged=true`, ...) that ends up in the SecurityPolicyViolations condition. Every
other override field is merged as given.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from agentops_services.api.v1alpha1.common import PodSecurityContext, SecurityContext
from agentops_services.operator import names
from agentops_services.operator.builders.conditions import DesiredCondition, condition

CONDITION_TYPE = "SecurityPolicyViolations"
TMP_VOLUME = "tmp"
TMP_SIZE_LIMIT = "64Mi"

MAIN_EPHEMERAL_STORAGE = {"requests": "64Mi", "limits": "128Mi"}
"""Default ephemeral-storage of main containers: the root filesystem is read-only, so this
bounds /tmp and logs, and keeps a runaway agent from evicting its neighbours."""
SIDECAR_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "5m", "memory": "16Mi", "ephemeral-storage": "16Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "64Mi"},
}
"""Fixed resources of sidecars (gateways): small proxies, sized so they never dominate a pod."""

_RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
_POD_FLOOR: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": names.RESTRICTED_UID,
    "runAsGroup": names.RESTRICTED_UID,
    "fsGroup": names.RESTRICTED_UID,
    "seccompProfile": _RUNTIME_DEFAULT,
}
_CONTAINER_FLOOR: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL", "NET_RAW"]},
    "seccompProfile": _RUNTIME_DEFAULT,
}
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ping_group_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)

Rejection = Callable[[Any], str | None]
"""Given an override field's value: the offending `field=value` text, or None when allowed."""


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _equals(field: str, bad: Any) -> Rejection:
    return lambda value: f"{field}={_show(value)}" if value == bad else None


def _root_id(field: str) -> Rejection:
    return _equals(field, 0)


def _unconfined(field: str) -> Rejection:
    return lambda value: f"{field}.type=Unconfined" if value.get("type") == "Unconfined" else None


def _capabilities_added(value: Any) -> str | None:
    added = value.get("add")
    return f"capabilities.add={_show(added)}" if added else None


def _unsafe_sysctls(value: Any) -> str | None:
    unsafe = [s["name"] for s in value if s["name"] not in _SAFE_SYSCTLS]
    return f"sysctls={_show(unsafe)}" if unsafe else None


_POD_REJECTIONS: dict[str, Rejection] = {
    "runAsNonRoot": _equals("runAsNonRoot", False),
    "runAsUser": _root_id("runAsUser"),
    "runAsGroup": _root_id("runAsGroup"),
    "fsGroup": _root_id("fsGroup"),
    "seccompProfile": _unconfined("seccompProfile"),
    "appArmorProfile": _unconfined("appArmorProfile"),
    "sysctls": _unsafe_sysctls,
}
_CONTAINER_REJECTIONS: dict[str, Rejection] = {
    "allowPrivilegeEscalation": _equals("allowPrivilegeEscalation", True),
    "privileged": _equals("privileged", True),
    "readOnlyRootFilesystem": _equals("readOnlyRootFilesystem", False),
    "runAsNonRoot": _equals("runAsNonRoot", False),
    "runAsUser": _root_id("runAsUser"),
    "runAsGroup": _root_id("runAsGroup"),
    "capabilities": _capabilities_added,
    "seccompProfile": _unconfined("seccompProfile"),
    "appArmorProfile": _unconfined("appArmorProfile"),
    "procMount": _equals("procMount", "Unmasked"),
}


def _merge(
    floor: dict[str, Any],
    override: dict[str, Any],
    rejections: dict[str, Rejection],
    prefix: str,
) -> tuple[dict[str, Any], list[str]]:
    """The floor with every allowed override field applied, and the refused ones."""
    merged = copy.deepcopy(floor)
    violations: list[str] = []
    for field, value in override.items():
        reject = rejections.get(field)
        refused = reject(value) if reject else None
        if refused:
            violations.append(f"{prefix}.{refused}")
        elif field == "capabilities":
            # Only `drop` can remain here: more drops are welcome, the floor's stay.
            drops = merged["capabilities"]["drop"]
            drops.extend(d for d in value.get("drop") or () if d not in drops)
        else:
            merged[field] = value
    return merged, violations


def _dump(override: PodSecurityContext | SecurityContext | None) -> dict[str, Any]:
    return override.model_dump(by_alias=True, exclude_none=True) if override else {}


def _containers(pod: dict[str, Any], main_container: str) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every container with whether it is a sidecar: a native sidecar (restartable init
    container) or a regular container other than the main one."""
    for container in pod.get("initContainers") or ():
        yield container, container.get("restartPolicy") == "Always"
    for container in pod.get("containers") or ():
        yield container, container["name"] != main_container


def _mount_tmp(container: dict[str, Any]) -> None:
    mounts = container.setdefault("volumeMounts", [])
    if not any(m["mountPath"] == "/tmp" for m in mounts):
        mounts.append({"name": TMP_VOLUME, "mountPath": "/tmp"})


def _default_resources(container: dict[str, Any], is_main: bool, is_sidecar: bool) -> None:
    if is_main:
        resources = container.setdefault("resources", {})
        for kind, quantity in MAIN_EPHEMERAL_STORAGE.items():
            resources.setdefault(kind, {}).setdefault("ephemeral-storage", quantity)
    elif is_sidecar and not container.get("resources"):
        container["resources"] = copy.deepcopy(SIDECAR_RESOURCES)


def secure_pod(
    pod_spec: dict[str, Any],
    main_container: str,
    pod_override: PodSecurityContext | None,
    container_override: SecurityContext | None,
    *,
    automount_token: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """`pod_spec` with the restricted floor applied, and the refused override fields.

    The pod override is merged into the pod security context; the container override only into
    `main_container` (the one the user's image and command run in). Every container, init
    containers and native sidecars included, gets the container floor and a /tmp emptyDir (the
    root filesystem is read-only). The service account token is mounted only when
    `automount_token` is set: agents reach the API server only to delegate or to record their
    outcome, which the user opts into.
    """
    pod = copy.deepcopy(pod_spec)
    pod_context, violations = _merge(_POD_FLOOR, _dump(pod_override), _POD_REJECTIONS, "pod")
    main_context, container_violations = _merge(
        _CONTAINER_FLOOR, _dump(container_override), _CONTAINER_REJECTIONS, "container"
    )
    violations += container_violations
    pod["automountServiceAccountToken"] = automount_token
    pod["securityContext"] = pod_context
    for container, is_sidecar in _containers(pod, main_container):
        is_main = container["name"] == main_container
        context = main_context if is_main else _CONTAINER_FLOOR
        container["securityContext"] = copy.deepcopy(context)
        _mount_tmp(container)
        _default_resources(container, is_main, is_sidecar)
    volumes = pod.setdefault("volumes", [])
    if not any(v["name"] == TMP_VOLUME for v in volumes):
        volumes.append({"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}})
    return pod, violations


def violations_condition(violations: list[str]) -> DesiredCondition:
    """The SecurityPolicyViolations condition (§3.3) for a pod's refused override fields."""
    if not violations:
        return condition(
            CONDITION_TYPE,
            "False",
            "NoViolations",
            "All security overrides are within the restricted-PSS floor",
        )
    return condition(
        CONDITION_TYPE,
        "True",
        "OverridesClamped",
        f"{len(violations)} override field(s) clamped to the restricted-PSS floor: "
        + "; ".join(violations),
    )
