"""The six kinds as the embedded platform names them: in URLs, in keys, in one namespace.

A cluster has namespaces; the embedded platform has one, `local`, so every object carries the
same metadata shape as in a cluster and the console's views need not know the difference.
"""

from __future__ import annotations

from typing import Any

from agentops_services.api.v1alpha1 import KINDS

NAMESPACE = "local"
"""The namespace every embedded object is in."""

Object = dict[str, Any]
"""An object as the API server would return it (plain JSON data)."""
Key = tuple[str, str]
"""(kind, name): what identifies an object in the one namespace."""

_BY_SEGMENT: dict[str, str] = {}
for _kind, _cls in KINDS.items():
    for _segment in (_cls.crd.plural, _cls.crd.singular, _kind.lower(), *_cls.crd.short_names):
        _BY_SEGMENT[_segment] = _kind


def kind_of(segment: str) -> str | None:
    """The kind a URL segment names: its plural (`agentruns`), singular, kind name or short
    name (`ar`), in any case, as kubectl accepts them; None when it names none of ours."""
    return _BY_SEGMENT.get(segment.lower())


def plural_of(kind: str) -> str:
    """`AgentRun` -> `agentruns`."""
    return KINDS[kind].crd.plural


def key_of(obj: Object) -> Key:
    """(kind, name) of a stored object."""
    return obj["kind"], obj["metadata"]["name"]
