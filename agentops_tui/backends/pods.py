"""Which pod `l` shows the logs of: a daemon Agent's runtime pod, the Job pod of a task
Agent's newest run or of an AgentRun, a Job's or a Deployment's pod, or a Pod itself.

The labels are the ones the operator's builders put on the pod templates (the Agent's
Deployment: `agents.agentops.io/agent` and `agents.agentops.io/component=runtime`), and the
`job-name` label the Job controller puts on the pods it creates. A daemon Agent's runs execute
in its runtime pod, so a run without a Job of its own leads there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agentops_services.api.v1alpha1 import GROUP
from agentops_services.kube.podlogs import containers_of
from agentops_tui.backends.base import BackendError, Object

AGENT_LABEL = f"{GROUP}/agent"
COMPONENT_LABEL = f"{GROUP}/component"
RUNTIME_COMPONENT = "runtime"
JOB_NAME_LABEL = "job-name"
MAIN_CONTAINER = "agent-runtime"
"""The container the agent runs in: shown first when a pod has several."""


@dataclass(frozen=True)
class LogTarget:
    """One pod incarnation whose logs can be shown, and its containers (the main one first)."""

    namespace: str
    pod: str
    containers: tuple[str, ...]
    uid: str = ""


def runtime_selector(agent: str) -> str:
    return f"{AGENT_LABEL}={agent},{COMPONENT_LABEL}={RUNTIME_COMPONENT}"


def job_selector(job: str) -> str:
    return f"{JOB_NAME_LABEL}={job}"


def _named(objects: Iterable[Object], name: str) -> Object | None:
    return next((o for o in objects if o["metadata"]["name"] == name), None)


def _newest(objects: Iterable[Object]) -> Object | None:
    """The most recently created (runs and pods made in the same second: by name)."""
    return max(
        objects,
        key=lambda o: (o["metadata"].get("creationTimestamp") or "", o["metadata"]["name"]),
        default=None,
    )


def label_selector(selector: Object) -> str:
    """A workload's `spec.selector` (matchLabels and matchExpressions) as a label selector
    query."""
    terms = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        forms = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }
        terms.append(forms[operator])
    return ",".join(terms)


def pod_selector(kind: str, name: str, items: Callable[[str], Iterable[Object]]) -> tuple[str, str]:
    """The label selector of the pods that hold the object's logs, and how to name them in a
    message, from the backend's cached objects (`items` of a kind); BackendError, saying why,
    when the object has none (yet)."""
    if kind == "Job":
        return job_selector(name), f"Job {name}"
    if kind == "Deployment":
        deployment = _named(items(kind), name)
        if deployment is None:
            raise BackendError(f"Deployment {name} is gone")
        selector = (deployment.get("spec") or {}).get("selector") or {}
        return label_selector(selector), f"Deployment {name}"
    if kind == "Agent":
        return _agent_pods(name, list(items("Agent")), list(items("AgentRun")))
    if kind == "AgentRun":
        return _run_pods(name, list(items("Agent")), list(items("AgentRun")))
    raise BackendError(
        f"{kind}s have no logs: l works on Agents, AgentRuns, Deployments, Jobs and Pods"
    )


def _daemon(agent: Object | None) -> bool:
    return agent is not None and (agent.get("spec") or {}).get("mode") == "daemon"


def _agent_pods(name: str, agents: list[Object], runs: list[Object]) -> tuple[str, str]:
    """A daemon's runtime pod; a task Agent's newest run that has a Job."""
    agent = _named(agents, name)
    if agent is None:
        raise BackendError(f"Agent {name} is gone")
    if _daemon(agent):
        return runtime_selector(name), f"Agent {name}"
    own = [r for r in runs if (r.get("spec") or {}).get("agentRef") == name]
    with_job = _newest(r for r in own if (r.get("status") or {}).get("jobName"))
    if with_job is not None:
        return job_selector(with_job["status"]["jobName"]), f"AgentRun {_name(with_job)}"
    newest = _newest(own)
    if newest is None:
        raise BackendError(f"Agent {name} runs as a task and has no runs yet")
    raise BackendError(f"AgentRun {_name(newest)} has no Job yet")


def _run_pods(name: str, agents: list[Object], runs: list[Object]) -> tuple[str, str]:
    """The run's Job pod; a daemon Agent's runtime pod for the runs it executes itself."""
    run = _named(runs, name)
    if run is None:
        raise BackendError(f"AgentRun {name} is gone")
    status = run.get("status") or {}
    if status.get("jobName"):
        return job_selector(str(status["jobName"])), f"AgentRun {name}"
    agent = str((run.get("spec") or {}).get("agentRef") or "")
    if _daemon(_named(agents, agent)):
        return runtime_selector(agent), f"Agent {agent}"
    raise BackendError(f"AgentRun {name} has no Job yet ({status.get('phase') or 'no phase'})")


def _name(obj: Object) -> str:
    return str(obj["metadata"]["name"])


def newest_pod(pods: Iterable[Object]) -> Object | None:
    """The pod to show: the newest (a rollout's new pod, a retried Job's last attempt)."""
    return _newest(pods)


def log_target(namespace: str, pod: Object) -> LogTarget:
    containers = containers_of(pod)
    ordered = sorted(containers, key=lambda c: c != MAIN_CONTAINER)
    return LogTarget(namespace, _name(pod), tuple(ordered), pod["metadata"].get("uid") or "")
