"""Shared pieces of the embedded platform's runtime tests: a sink that keeps what it is told,
resources built from their models, and the check that no process outlived its test."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentops_services.api.v1alpha1 import Agent, AgentRun, Provider
from agentops_services.local.kinds import NAMESPACE
from agentops_services.local.paths import DataDir

CREATED = "2026-04-09T10:00:00Z"


@dataclass
class RecordingSink:
    """A StatusSink that keeps the latest status of each object and every run created."""

    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    async def agent_status(self, name: str, status: Mapping[str, Any]) -> None:
        self.agents[name] = dict(status)
        self.history.append(("Agent", name, dict(status)))

    async def run_status(self, name: str, status: Mapping[str, Any]) -> None:
        self.runs[name] = dict(status)
        self.history.append(("AgentRun", name, dict(status)))

    async def create_run(self, manifest: Mapping[str, Any]) -> None:
        if all(m["metadata"]["name"] != manifest["metadata"]["name"] for m in self.created):
            self.created.append(dict(manifest))

    def condition(self, kind: str, name: str, type_: str) -> dict[str, Any]:
        status = (self.agents if kind == "Agent" else self.runs)[name]
        return next(c for c in status["conditions"] if c["type"] == type_)


def data_dir(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data", tmp_path / "data" / "resources").create()


def provider(name: str, base_url: str, *, keyed: bool = True) -> Provider:
    spec: dict[str, Any] = {"type": "openaicompat", "endpoint": {"baseURL": base_url}}
    if keyed:
        spec["apiKeySecret"] = {"name": f"{name}-key", "key": "api-key"}
    return Provider.model_validate(
        {"metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}
    )


def agent(name: str, mode: str = "daemon", generation: int = 1, **spec: Any) -> Agent:
    return Agent.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "uid": f"uid-{name}",
                "generation": generation,
                "creationTimestamp": CREATED,
            },
            "spec": {
                "mode": mode,
                "model": "fake/gpt-fake",
                "providerRefs": [{"name": "fake"}],
                "builtinTools": [],
                "systemPrompt": "You are a test agent.",
                **spec,
            },
        }
    )


def agent_run(name: str, agent_name: str, prompt: str, created: str = CREATED) -> AgentRun:
    return AgentRun.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "generation": 1,
                "creationTimestamp": created,
            },
            "spec": {"agentRef": agent_name, "prompt": prompt, "source": "console"},
        }
    )


def _process_groups() -> dict[int, int]:
    """pid -> process group of every live (not zombie) process."""
    groups = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            groups[int(entry.name)] = int(fields[2])
    return groups


def survivors(pids: Iterable[int]) -> list[int]:
    """Processes still alive among `pids` or in their process groups."""
    started = set(pids)
    return [
        pid
        for pid, group in _process_groups().items()
        if (pid in started or group in started) and pid != os.getpid()
    ]
