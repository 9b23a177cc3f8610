"""AgentRun: admission under the Agent's concurrency policy, then a Job (task agents) or a
`POST /runs` to the runtime (daemon agents), and the result (§4.2, its QUIRKs fixed).

No polling: a task run's end arrives as its Job's status change (the Job is watched); a daemon
run's end is written by the runtime itself, and the operator only keeps a single requeue at the
run's deadline to enforce the timeout. `replace` really stops the replaced run.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError

from agentops_services.api.model import format_time
from agentops_services.api.runtime_api import TaskResult
from agentops_services.api.v1alpha1 import Agent, AgentResource, AgentRun, AgentTool, Provider
from agentops_services.kube import resources as types
from agentops_services.kube.informer import Key
from agentops_services.kube.rest import KubeError, Object
from agentops_services.operator import names
from agentops_services.operator.builders.conditions import (
    ACCEPTED,
    condition,
)
from agentops_services.operator.builders.durations import parse_duration
from agentops_services.operator.builders.git_workspace import git_workspace_env
from agentops_services.operator.builders.job import build_run_config_map, build_run_job
from agentops_services.operator.builders.run_result import COMPLETE, run_failed, task_run_end
from agentops_services.operator.cluster import Cluster, parse
from agentops_services.operator.reconcilers.admission import TERMINAL, Admission
from agentops_services.operator.reconcilers.status import publish
from agentops_services.operator.runtime_client import (
    RuntimeBusyError,
    RuntimeClient,
    RuntimeRejectedError,
)

LOG = logging.getLogger("agentops.operator.agentrun")
BUSY_RETRY = 5.0
"""A daemon busy with a chat turn is asked again this soon."""
DEFAULT_TIMEOUT = 1800.0
RUNTIME_CONTAINER = "agent-runtime"
MARK_ATTEMPTS = 3
"""Tries to mark a daemon run Running while others write its status (then the next
reconcile, triggered by their write, takes over)."""


class AgentRunReconciler:
    def __init__(self, cluster: Cluster, runtime: RuntimeClient | None = None) -> None:
        self.cluster = cluster
        self.runtime = runtime or RuntimeClient()
        self.admission = Admission()

    # --- entry --------------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> float | None:
        cluster = self.cluster
        obj = cluster.cached(types.AGENT_RUN, *key)
        run = None if obj is None else parse(AgentRun, obj)
        if obj is None or run is None:
            return None
        status = obj.get("status") or {}
        if status.get("phase") in TERMINAL:
            return None
        namespace, _ = key
        agent = cluster.model(Agent, types.AGENT, namespace, run.spec.agent_ref)
        if agent is None:
            message = f'Agent "{run.spec.agent_ref}" not found'
            await self._fail(obj, message, "AgentNotFound")
            return None
        labels = obj["metadata"].get("labels") or {}
        if labels.get(names.L_AGENT) != agent.name:
            await cluster.kube.patch(
                types.AGENT_RUN,
                namespace,
                run.name,
                {"metadata": {"labels": {names.L_AGENT: agent.name}}},
                field_manager=names.FIELD_MANAGER,
            )
        if status.get("phase") == "Running":
            return await self._running(obj, run, agent)
        return await self._admit(obj, run, agent)

    # --- admission ----------------------------------------------------------------------------

    async def _admit(self, obj: Object, run: AgentRun, agent: Agent) -> float | None:
        cluster = self.cluster
        namespace = agent.namespace or "default"
        mode = agent.spec.mode
        agent_phase = agent.status.phase if agent.status else None
        if mode == "daemon" and agent_phase != "Running":
            message = f'Agent "{agent.name}" is {agent_phase or "not ready"}, waiting for Running'
            await publish(
                cluster,
                types.AGENT_RUN,
                obj,
                [condition("AgentReady", "False", "AgentNotRunning", message)],
                phase="Pending",
                mode=mode,
            )
            return None  # the Agent's change brings this run back
        concurrency = agent.spec.concurrency
        limit = concurrency.max_runs if concurrency else 1
        policy = concurrency.policy if concurrency else "queue"
        slot = (namespace, agent.name)
        async with self.admission.lock(slot):
            runs = [
                r
                for r in cluster.models(AgentRun, types.AGENT_RUN, namespace)
                if r.spec.agent_ref == agent.name
            ]
            decision = self.admission.decide(slot, run, runs, limit)
            full = len(decision.active) >= limit
            if policy == "reject" and full:
                await self._fail(obj, "Rejected: max concurrent runs exceeded", "Rejected")
                return None
            if policy == "replace" and full:
                for victim in decision.active[: len(decision.active) - limit + 1]:
                    await self._cancel(victim, agent, replaced_by=run.name)
                    self.admission.release(slot, victim.name)
            elif not decision.admit:
                message = f"{len(decision.active)} of {limit} running, {decision.ahead} ahead"
                await publish(
                    cluster,
                    types.AGENT_RUN,
                    obj,
                    [condition("Admitted", "False", "Queued", message)],
                    phase="Queued",
                    mode=mode,
                )
                return None  # a finishing sibling brings this run back
            self.admission.admit(slot, run.name)
        try:
            if mode == "task":
                return await self._start_job(obj, run, agent)
            return await self._start_daemon_run(obj, run, agent)
        except Exception:
            self.admission.release(slot, run.name)
            raise

    # --- task runs ----------------------------------------------------------------------------

    async def _start_job(self, obj: Object, run: AgentRun, agent: Agent) -> float | None:
        cluster = self.cluster
        namespace = agent.namespace or "default"
        tools = {
            b.name: t
            for b in agent.spec.tools or []
            if (t := cluster.model(AgentTool, types.AGENT_TOOL, namespace, b.name)) is not None
        }
        providers = {
            p.name: v
            for p in agent.spec.provider_refs
            if (v := cluster.model(Provider, types.PROVIDER, namespace, p.name)) is not None
        }
        git_env: list[dict[str, Any]] = []
        if run.spec.git is not None:
            failure = await self._prepare_git(run, agent)
            if isinstance(failure, str):
                await self._fail(obj, failure, "GitWorkspaceInvalid")
                return None
            git_env = failure
        job, _ = build_run_job(run, agent, tools, providers, cluster.settings, git_env=git_env)
        await cluster.children.apply(job)
        await publish(
            cluster,
            types.AGENT_RUN,
            obj,
            [
                condition(ACCEPTED, "True", "Admitted", "Started as a Job"),
                condition(COMPLETE, "False", "Running", f'Job "{run.name}" started'),
            ],
            phase="Running",
            mode="task",
            startTime=format_time(cluster.clock()),
            jobName=run.name,
            model=agent.spec.model,
        )
        return None  # the Job's status change brings this run back

    async def _prepare_git(self, run: AgentRun, agent: Agent) -> list[dict[str, Any]] | str:
        """The git env and the run's own config ConfigMap, or why the workspace is unusable."""
        cluster = self.cluster
        namespace = agent.namespace or "default"
        git = run.spec.git
        assert git is not None
        resource = cluster.model(AgentResource, types.AGENT_RESOURCE, namespace, git.resource_ref)
        if resource is None:
            return f'AgentResource "{git.resource_ref}" not found'
        env, problem = git_workspace_env(git, resource)
        if problem is not None:
            return problem
        base = cluster.cached(types.CONFIG_MAP, namespace, names.config_map_name(agent.name))
        if base is None:
            raise RuntimeError(f"ConfigMap {names.config_map_name(agent.name)} not there yet")
        await cluster.children.apply(build_run_config_map(run, base, resource))
        return env

    async def _job_finished(self, obj: Object, run: AgentRun, job: Object) -> bool:
        """Record a finished Job's result; False while it runs."""
        job_status = job.get("status") or {}
        succeeded, failed = job_status.get("succeeded") or 0, job_status.get("failed") or 0
        if not succeeded and not failed:
            return False
        result, raw = await self._termination_result(run)
        reasons = [
            c.get("message") or c.get("reason")
            for c in job_status.get("conditions") or []
            if c.get("type") == "Failed"
        ]
        fields, conditions = task_run_end(
            result,
            raw,
            succeeded=bool(succeeded),
            failure=(reasons[0] if reasons and reasons[0] else "Job failed"),
            now=self.cluster.clock(),
        )
        await publish(self.cluster, types.AGENT_RUN, obj, conditions, **fields)
        return True

    async def _termination_result(self, run: AgentRun) -> tuple[TaskResult | None, str | None]:
        """The runtime's result JSON from the pod's termination message (one list request,
        made once, when the Job has finished)."""
        listing = await self.cluster.kube.list(
            types.POD, run.namespace, label_selector=f"job-name={run.name}"
        )
        for pod in listing.get("items") or []:
            for container in (pod.get("status") or {}).get("containerStatuses") or []:
                terminated = (container.get("state") or {}).get("terminated") or {}
                message = terminated.get("message")
                if container.get("name") != RUNTIME_CONTAINER or not message:
                    continue
                try:
                    return TaskResult.model_validate(json.loads(message)), None
                except (ValueError, ValidationError):
                    return None, message
        return None, None

    # --- daemon runs --------------------------------------------------------------------------

    async def _start_daemon_run(self, obj: Object, run: AgentRun, agent: Agent) -> float | None:
        namespace = agent.namespace or "default"
        traceparent = (run.metadata.annotations or {}).get(names.A_TRACEPARENT)
        try:
            await self.runtime.submit(namespace, agent.name, run.name, run.spec.prompt, traceparent)
        except RuntimeBusyError:
            self.admission.release((namespace, agent.name), run.name)
            return BUSY_RETRY
        except RuntimeRejectedError as exc:
            await self._fail(obj, str(exc), "Rejected")
            return None
        await self._mark_sent(obj, agent)
        return self._timeout(agent)

    async def _mark_sent(self, obj: Object, agent: Agent) -> None:
        """Running, unless the runtime has written the run's status first: a fast run can
        finish before this write, and from the (older) cached object it would set a Succeeded
        run back to Running. So it is written to the object as the API server has it, only
        while it is at that resourceVersion, and not at all once the runtime has ended it (its
        end status has the start time and mode too)."""
        cluster = self.cluster
        metadata = obj["metadata"]
        for _ in range(MARK_ATTEMPTS):
            fresh = await cluster.kube.get(types.AGENT_RUN, metadata["namespace"], metadata["name"])
            if fresh is None or (fresh.get("status") or {}).get("phase") in TERMINAL:
                return
            try:
                await publish(
                    cluster,
                    types.AGENT_RUN,
                    fresh,
                    [
                        condition(ACCEPTED, "True", "Admitted", "Sent to the agent's runtime"),
                        condition(COMPLETE, "False", "Running", "The runtime is executing the run"),
                    ],
                    guarded=True,
                    phase="Running",
                    mode="daemon",
                    startTime=format_time(cluster.clock()),
                    model=agent.spec.model,
                )
                return
            except KubeError as exc:
                if not exc.conflict:
                    raise

    def _timeout(self, agent: Agent) -> float:
        return parse_duration(agent.spec.timeout) or DEFAULT_TIMEOUT

    async def _running(self, obj: Object, run: AgentRun, agent: Agent) -> float | None:
        cluster = self.cluster
        namespace = agent.namespace or "default"
        self.admission.admit((namespace, agent.name), run.name)  # (after an operator restart)
        if agent.spec.mode == "task":
            job = cluster.cached(types.JOB, namespace, run.name)
            if job is None:
                return None  # just created: the Job's own event comes back here
            await self._job_finished(obj, run, job)
            return None  # the Job's deadline (activeDeadlineSeconds) enforces the timeout
        started = run.status.start_time if run.status else None
        limit = self._timeout(agent)
        elapsed = (cluster.clock() - started).total_seconds() if started else 0.0
        if elapsed < limit:
            return limit - elapsed
        # Failed first: the runtime does not overwrite a run that has already ended.
        await self._fail(obj, f"Run timed out after {elapsed:.0f}s (limit {limit:.0f}s)", "Timeout")
        try:
            await self.runtime.abort(namespace, agent.name)
        except Exception as exc:
            LOG.warning("could not abort run %s/%s: %s", namespace, run.name, exc)
        return None

    # --- ending runs --------------------------------------------------------------------------

    async def _fail(self, obj: Object, message: str, reason: str) -> None:
        fields, conditions = run_failed(message, reason, self.cluster.clock())
        await publish(self.cluster, types.AGENT_RUN, obj, conditions, **fields)
        metadata = obj["metadata"]
        self.admission.release(
            (metadata["namespace"], (obj.get("spec") or {}).get("agentRef", "")), metadata["name"]
        )

    async def _cancel(self, victim: AgentRun, agent: Agent, replaced_by: str) -> None:
        """Stop a run for the replace policy: delete its Job, or abort the daemon's turn."""
        cluster = self.cluster
        namespace = agent.namespace or "default"
        if agent.spec.mode == "task":
            job = cluster.cached(types.JOB, namespace, victim.name)
            await cluster.kube.delete(
                types.JOB, namespace, victim.name, uid=job["metadata"]["uid"] if job else None
            )
        obj = cluster.cached(types.AGENT_RUN, namespace, victim.name)
        if obj is not None:
            await self._fail(obj, f"Cancelled: replaced by {replaced_by}", "Cancelled")
        if agent.spec.mode == "daemon":
            try:
                await self.runtime.abort(namespace, agent.name)
            except Exception as exc:
                LOG.warning("could not abort run %s/%s: %s", namespace, victim.name, exc)
