"""Daemon Agents as local runtime processes: what the operator's Deployment is in a cluster.

`DaemonAgents.reconcile` is level-triggered and idempotent: given every Agent, it starts a
supervised `agentops runtime` for each daemon Agent that has none, restarts one whose config,
files, command or environment changed (a hash of them, as the operator's pod template carries
the ConfigMaps' hash), and stops the runtimes of Agents that are gone or became task agents.
Each runtime has its own loopback port (kept across restarts), state and workspace directory
under the data dir.

It also owns the status of every Agent, in the fields and reasons the operator writes
(reconcilers/agent.py): Accepted, Ready, phase Pending/Running (Ready for a task agent),
activeModel, readyReplicas and serviceURL (the runtime's loopback URL). Locally a crashing
runtime makes the phase Failed, with the exit and the last line of its output on Ready, until a
restart succeeds; two more conditions say what a cluster would not need to: CredentialsFound
(a Provider key without a value) and LocallySupported (see runtime_config.py).

Secrets: their values only go into the child's environment. The hash that notices a changed
key is kept in memory only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1 import Agent
from agentops_services.local.catalog import Catalog, References
from agentops_services.local.ports import LOOPBACK
from agentops_services.local.processes import (
    PORT,
    ProcessEvent,
    ProcessSpec,
    ProcessState,
)
from agentops_services.local.runtime_config import LocalRuntimeConfig
from agentops_services.local.runtime_env import LocalEnvironment, SecretSource
from agentops_services.local.runtime_setup import RuntimeHost
from agentops_services.local.status import StatusBook, StatusSink
from agentops_services.operator.builders.conditions import (
    ACCEPTED,
    READY,
    DesiredCondition,
    condition,
)

HEALTH_PATH = "/healthz"
MESSAGE_LIMIT = 1024


def process_name(agent: str) -> str:
    """The supervisor's name of a daemon agent's runtime."""
    return f"agent/{agent}"


@dataclass
class _Runtime:
    digest: str
    notes: list[DesiredCondition]
    """CredentialsFound and LocallySupported (they follow from what the digest covers)."""
    event: ProcessEvent | None = None


def _digest(local: LocalRuntimeConfig, argv: tuple[str, ...], env: LocalEnvironment) -> str:
    document = {
        "config": local.config.to_json(),
        "files": local.files,
        "argv": argv,
        "env": sorted(env.env.items()),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _crash_message(event: ProcessEvent) -> str:
    text = f"The runtime {event.message}"
    if event.retry_at is not None:
        text += f"; restarting at {format_time(event.retry_at)}"
    if event.log_tail:
        text += f". Last output: {event.log_tail[-1]}"
    return text[:MESSAGE_LIMIT]


class DaemonAgents:
    """The runtimes of daemon Agents and the status of every Agent."""

    def __init__(self, host: RuntimeHost, sink: StatusSink) -> None:
        self.supervisor = host.supervisor
        self.data = host.data
        self.setup = host.setup
        self.statuses = StatusBook(sink.agent_status, host.clock)
        """Agent statuses (Schedules records lastScheduleTime through it too)."""
        self._runtimes: dict[str, _Runtime] = {}
        self._agents: dict[str, Agent] = {}
        self._blocked: set[str] = set()
        """Agents missing a reference: their status says so, whatever their runtime does."""
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition()

    # --- what others ask ----------------------------------------------------------------------

    def url(self, name: str) -> str | None:
        """The runtime URL of daemon agent `name` while it serves, else None."""
        runtime = self._runtimes.get(name)
        event = runtime.event if runtime else None
        return event.url if event and event.state is ProcessState.READY else None

    async def wait_ready(self, name: str) -> str:
        """The runtime URL of `name` once it serves (the caller bounds the wait)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.url(name) is not None)
        url = self.url(name)
        assert url is not None
        return url

    # --- reconciling --------------------------------------------------------------------------

    async def reconcile(self, catalog: Catalog, secrets: SecretSource) -> None:
        """Bring the runtimes and statuses in line with `catalog`."""
        async with self._lock:
            daemons = set()
            for agent in catalog.agents.values():
                if agent.spec.mode == "daemon":
                    daemons.add(agent.name)
                    await self._daemon(agent, catalog, secrets)
            for name in [n for n in self._runtimes if n not in daemons]:
                await self._remove(name)
            for agent in catalog.agents.values():
                if agent.spec.mode != "daemon":
                    await self._task_agent(agent, catalog)
            for name in [n for n in self._agents if n not in catalog.agents]:
                self._agents.pop(name, None)
                self._blocked.discard(name)
                self.statuses.forget(name)

    async def close(self) -> None:
        """Stop every runtime (the Agents' statuses stay as they were last sent)."""
        async with self._lock:
            for name in list(self._runtimes):
                await self._remove(name)

    async def _reference_problem(self, agent: Agent, references: References) -> bool:
        """Pending with ReferenceNotFound when the agent names something missing."""
        if not references.missing:
            self._blocked.discard(agent.name)
            return False
        self._blocked.add(agent.name)
        message = references.missing_message()
        await self.statuses.publish(
            agent,
            [
                condition(ACCEPTED, "False", "ReferenceNotFound", message),
                condition(READY, "False", "ReferenceNotFound", message),
            ],
            phase="Pending",
        )
        return True

    async def _task_agent(self, agent: Agent, catalog: Catalog) -> None:
        self._agents[agent.name] = agent
        if await self._reference_problem(agent, catalog.references(agent)):
            return
        await self.statuses.publish(
            agent,
            [
                condition(ACCEPTED, "True", "Valid", "Spec and references are valid"),
                condition(READY, "True", "Ready", "Runs start as local processes"),
            ],
            phase="Ready",
            activeModel=agent.spec.model,
            readyReplicas=None,
            serviceURL=None,
        )

    async def _daemon(self, agent: Agent, catalog: Catalog, secrets: SecretSource) -> None:
        name = agent.name
        self._agents[name] = agent
        references = catalog.references(agent)
        if await self._reference_problem(agent, references):
            return  # a runtime already running keeps running, as its Deployment would
        directory = self.data.agent(name).create()
        prepared = self.setup.prepare(agent, references, directory, secrets)
        local, env = prepared.local, prepared.environment
        argv = (
            *self.setup.command,
            "--config", str(directory.config),
            "--host", LOOPBACK,
            "--port", PORT,
            "--state-dir", str(directory.state),
        )  # fmt: skip
        digest = _digest(local, argv, env)
        current = self._runtimes.get(name)
        if current is not None and current.digest == digest:
            await self._publish(name)
            return
        local.write(directory.root, directory.config)
        if current is not None:
            await self.supervisor.stop(process_name(name), keep_port=True)
        self._runtimes[name] = _Runtime(digest, self._local_conditions(local, env))
        spec = ProcessSpec(
            name=process_name(name),
            argv=argv,
            env=env.env,
            cwd=directory.workspace,
            log_file=directory.log,
            health_path=HEALTH_PATH,
        )
        self.supervisor.start(spec, partial(self._on_event, name, digest))

    async def _remove(self, name: str) -> None:
        self._runtimes.pop(name, None)
        await self.supervisor.stop(process_name(name))
        async with self._changed:
            self._changed.notify_all()

    def _local_conditions(
        self, local: LocalRuntimeConfig, env: LocalEnvironment
    ) -> list[DesiredCondition]:
        if env.missing:
            names = ", ".join(env.missing)
            where = f"set it in the environment or in {self.data.secrets_file}"
            credentials = condition(
                "CredentialsFound", "False", "SecretNotFound", f"No value for {names}: {where}"
            )
        else:
            credentials = condition("CredentialsFound", "True", "AllFound", "Every key is set")
        if local.left_out:
            support = condition(
                "LocallySupported", "False", "PartlySupported", "; ".join(local.left_out)
            )
        else:
            support = condition(
                "LocallySupported", "True", "AllSupported", "Everything it uses runs locally"
            )
        return [credentials, support]

    # --- status -------------------------------------------------------------------------------

    async def _on_event(self, name: str, digest: str, event: ProcessEvent) -> None:
        runtime = self._runtimes.get(name)
        if runtime is None or runtime.digest != digest or event.state is ProcessState.STOPPED:
            return  # a replaced or removed runtime's last words
        runtime.event = event
        await self._publish(name)
        async with self._changed:
            self._changed.notify_all()

    async def _publish(self, name: str) -> None:
        agent = self._agents.get(name)
        runtime = self._runtimes.get(name)
        if agent is None or runtime is None or name in self._blocked:
            return
        event = runtime.event
        state = event.state if event else ProcessState.STARTING
        if state is ProcessState.READY:
            phase, ready = "Running", condition(READY, "True", "Running", "The runtime is serving")
        elif event is not None and state in (ProcessState.CRASHED, ProcessState.BACKING_OFF):
            phase = "Failed"
            ready = condition(READY, "False", "CrashLoopBackOff", _crash_message(event))
        else:
            phase = "Pending"
            ready = condition(READY, "False", "Pending", "Waiting for the runtime to be ready")
        fields: dict[str, Any] = {
            "activeModel": agent.spec.model,
            "phase": phase,
            "readyReplicas": 1 if phase == "Running" else 0,
            "serviceURL": event.url if event else None,
        }
        accepted = condition(ACCEPTED, "True", "Valid", "Spec and references are valid")
        conditions = [accepted, *runtime.notes, ready]
        await self.statuses.publish(agent, conditions, **fields)
