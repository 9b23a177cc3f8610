"""The environment of a local runtime process: the very list the operator gives the pod
(builders/pod.py runtime_env, and job.py run_env for a task run), resolved on this machine.

- plain values are kept (AGENT_NAME, AGENT_MODE, spec.env, OTEL_SERVICE_NAME...);
- the namespace (a fieldRef in a pod) is `local`;
- a Secret reference (provider keys, OAuth2 client credentials, spec.secrets) takes its value
  from the secrets under the variable's own name (`MY_LLM_API_KEY` for Provider `my-llm`, as
  operator/builders/credentials.py names it); a variable without a value is reported, never
  filled with anything else;
- WORKSPACE is the runtime's workspace directory instead of the pod's /data.

The rest of this process's environment is passed on (PATH, HOME, locale, proxies), except what
would change how the runtime behaves: its own AGENT_* settings, a trace context, an OTLP
endpoint not meant for it, and the in-cluster marker that would make it write status to a
Kubernetes API. Values go into the child's environment and nowhere else: `LocalEnvironment`
does not show them in its repr.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agentops_services.api.v1alpha1 import Agent, Provider
from agentops_services.local.catalog import LOCAL_NAMESPACE
from agentops_services.operator.builders.pod import runtime_env
from agentops_services.operator.builders.settings import BuilderSettings

NOT_INHERITED = frozenset(
    {
        "KUBERNETES_SERVICE_HOST",
        "TRACEPARENT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "WORKSPACE",
    }
)
NOT_INHERITED_PREFIXES = ("AGENT_",)


class SecretSource(Protocol):
    """Where credential values come from (a Mapping does, so does local/secrets.py)."""

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True)
class LocalEnvironment:
    env: dict[str, str] = field(repr=False)
    """The whole environment of the process."""
    missing: list[str] = field(default_factory=list)
    """Secret variables without a value (names only)."""


def inherited(base_env: Mapping[str, str]) -> dict[str, str]:
    """What a runtime takes from this process's environment."""
    return {
        key: value
        for key, value in base_env.items()
        if key not in NOT_INHERITED and not key.startswith(NOT_INHERITED_PREFIXES)
    }


def _resolve(entry: Mapping[str, Any], secrets: SecretSource) -> str | None:
    if "value" in entry:
        return str(entry["value"])
    source = entry.get("valueFrom") or {}
    if (source.get("fieldRef") or {}).get("fieldPath") == "metadata.namespace":
        return LOCAL_NAMESPACE
    if "secretKeyRef" in source:
        return secrets.get(entry["name"]) or None
    return None


def local_environment(
    agent: Agent,
    providers: Mapping[str, Provider],
    *,
    secrets: SecretSource,
    base_env: Mapping[str, str],
    workspace: Path,
    trace_url: str | None = None,
    extra: Sequence[Mapping[str, Any]] = (),
) -> LocalEnvironment:
    """The environment of `agent`'s runtime; `extra` are more pod env entries (a task run's
    prompt and identity)."""
    entries = [*runtime_env(agent, providers, BuilderSettings(otel_endpoint=trace_url)), *extra]
    env = inherited(base_env)
    missing: list[str] = []
    for entry in entries:
        name = entry["name"]
        value = _resolve(entry, secrets)
        if value is not None:
            env[name] = value
            continue
        env.pop(name, None)
        if "secretKeyRef" in (entry.get("valueFrom") or {}):
            missing.append(name)
    env["WORKSPACE"] = str(workspace)
    return LocalEnvironment(env, missing)
