"""The kinds the console shows: their API types, the names `:` accepts for them, and their
columns (the CRDs' own printer columns, so the console and `kubectl get` agree)."""

from __future__ import annotations

from dataclasses import dataclass

from agentops_services.api.v1alpha1 import KINDS
from agentops_services.kube import resources as types
from agentops_services.kube.resources import ResourceType


@dataclass(frozen=True)
class Column:
    name: str
    path: str
    type: str = "string"


NAME = Column("Name", ".metadata.name")
ATTENTION = Column("!", "", "attention")
"""Agents only: what needs a person, from the Agent's status.pendingInput (written by its
runtime) and its newest AgentRun; the screen's `_mark` says which sign wins."""
AGE = Column("Age", ".metadata.creationTimestamp", "date")
DURATION = Column("Duration", ".status", "duration")
"""AgentRuns: start to completion, or to now while running (not a printer column: kubectl
cannot subtract dates)."""


@dataclass(frozen=True)
class ResourceKind:
    type: ResourceType
    names: tuple[str, ...]
    """What `:` accepts: plural, singular, short names and our aliases."""
    columns: tuple[Column, ...]
    ours: bool = True

    @property
    def kind(self) -> str:
        return self.type.kind

    @property
    def title(self) -> str:
        return self.type.kind + "s"


_ALIASES = {
    "Agent": ("ag",),
    "AgentRun": ("ar", "run", "runs"),
    "AgentTool": ("agtool", "tool", "tools"),
    "AgentResource": ("ares", "resource"),
    "Channel": ("ch",),
    "Provider": ("prov",),
}


def _ours(name: str) -> ResourceKind:
    model = KINDS[name]
    crd = model.crd
    names = (crd.plural, name.lower(), *crd.short_names, *_ALIASES.get(name, ()))
    columns = tuple(
        Column(c.name, c.json_path, c.type) for c in crd.printer_columns if c.priority == 0
    )
    leading = (ATTENTION, NAME) if name == "Agent" else (NAME,)
    trailing = (DURATION,) if name == "AgentRun" else ()
    return ResourceKind(
        types.BY_KIND[name], tuple(dict.fromkeys(names)), (*leading, *columns, *trailing)
    )


KINDS_SHOWN: tuple[ResourceKind, ...] = (
    *(_ours(name) for name in KINDS),
    ResourceKind(
        types.POD,
        ("pods", "pod", "po"),
        (NAME, Column("Phase", ".status.phase"), Column("Node", ".spec.nodeName"), AGE),
        ours=False,
    ),
    ResourceKind(
        types.DEPLOYMENT,
        ("deployments", "deployment", "deploy"),
        (
            NAME,
            Column("Ready", ".status.readyReplicas"),
            Column("Available", ".status.availableReplicas"),
            AGE,
        ),
        ours=False,
    ),
    ResourceKind(
        types.JOB,
        ("jobs", "job"),
        (NAME, Column("Succeeded", ".status.succeeded"), Column("Failed", ".status.failed"), AGE),
        ours=False,
    ),
    ResourceKind(
        types.NAMESPACE,
        ("namespaces", "namespace", "ns"),
        (NAME, Column("Status", ".status.phase"), AGE),
        ours=False,
    ),
    ResourceKind(
        types.EVENT,
        ("events", "event", "ev"),
        (
            Column("Type", ".type"),
            Column("Reason", ".reason"),
            Column("Object", ".involvedObject.name"),
            Column("Message", ".message"),
            Column("Age", ".lastTimestamp", "date"),
        ),
        ours=False,
    ),
)


def find(name: str) -> ResourceKind | None:
    """The kind a `:` command names (case-insensitive), or None."""
    wanted = name.strip().lower()
    for kind in KINDS_SHOWN:
        if wanted in kind.names or wanted == kind.kind.lower():
            return kind
    return None


def by_kind(kind: str) -> ResourceKind:
    return next(k for k in KINDS_SHOWN if k.kind == kind)


def cluster_only(kind: str) -> str | None:
    """Why the view of `kind` means nothing on the embedded platform, which has only our
    kinds (None: it does). The console neither offers such a view there nor lists it empty
    as if nothing ran: `:pods` says this instead."""
    if by_kind(kind).ours:
        return None
    return (
        f"{kind}s are a cluster's: on this machine agents run as local processes "
        "(l on an Agent or AgentRun says where its log is)"
    )
