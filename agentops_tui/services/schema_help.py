"""Field documentation from the CRDs' OpenAPI schemas, for the editor's help pane.

The schemas are the ones `api/crd.py` generates from the models, i.e. exactly what the
installed CRDs serve (a test keeps crds/ equal to them), so no API call is needed and help works
offline and in embedded mode too. Field paths look like `spec.tools[0].name`; list indices
and map keys are optional (`spec.tools.name` means the same field).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from agentops_services.api.crd import openapi_schema
from agentops_services.api.v1alpha1 import KINDS

Schema = dict[str, Any]
PathPart = str | int


@dataclass(frozen=True)
class FieldHelp:
    """What `kubectl explain` would say about one field."""

    path: str
    type: str
    """kubectl-style type: `string`, `[]string`, `map[string]string`, `object`, ..."""
    description: str = ""
    enum: tuple[Any, ...] = ()
    default: Any = None
    required: bool = False
    fields: tuple[str, ...] = ()
    """Names of the fields inside an object, to show what may go below the cursor."""
    rules: tuple[str, ...] = ()
    """Messages of the CEL rules attached to this field, i.e. the cross-field constraints."""


@cache
def kind_schema(kind: str) -> Schema:
    """The openAPIV3Schema of one of our kinds."""
    return openapi_schema(KINDS[kind])


def parse_path(path: str) -> list[PathPart]:
    """`spec.tools[0].name` -> `["spec", "tools", 0, "name"]`."""
    parts: list[PathPart] = []
    for word in path.split("."):
        match = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", word)
        if match is None:
            parts.append(word)
            continue
        if match.group(1):
            parts.append(match.group(1))
        parts.extend(int(index) for index in re.findall(r"\d+", match.group(2)))
    return parts


def field_help(kind: str, path: str | Sequence[PathPart]) -> FieldHelp | None:
    """Help for the field at `path` of `kind`, or None when the schema has no such field."""
    if kind not in KINDS:
        return None
    parts = parse_path(path) if isinstance(path, str) else list(path)
    node: Schema = kind_schema(kind)
    required = False
    names: list[str] = []
    for part in parts:
        if isinstance(part, int):
            if node.get("type") != "array":
                return None
            node = node.get("items", {})
            continue
        if node.get("type") == "array":  # `spec.tools.name`: the field of every item
            node = node.get("items", {})
        child = _child(node, part)
        if child is None:
            return None
        required = part in node.get("required", ())
        node = child
        names.append(part)
    return FieldHelp(
        path=".".join(names),
        type=type_name(node),
        description=node.get("description", ""),
        enum=tuple(node.get("enum", ())),
        default=node.get("default"),
        required=required,
        fields=tuple(_object_of(node).get("properties", {})),
        rules=tuple(rule["message"] for rule in node.get("x-kubernetes-validations", ())),
    )


def _child(node: Schema, name: str) -> Schema | None:
    properties: dict[str, Schema] = node.get("properties", {})
    if name in properties:
        return properties[name]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _object_of(node: Schema) -> Schema:
    """The object whose fields can be written below `node` (the item of a list of objects)."""
    return node.get("items", {}) if node.get("type") == "array" else node


def type_name(node: Schema) -> str:
    """The type as `kubectl explain` spells it."""
    if node.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    kind = node.get("type")
    if kind == "array":
        return "[]" + type_name(node.get("items", {}))
    if kind == "object" and "properties" not in node and "additionalProperties" in node:
        return "map[string]" + type_name(node["additionalProperties"])
    if kind is None and node.get("x-kubernetes-preserve-unknown-fields"):
        return "any"
    return str(kind or "any")
