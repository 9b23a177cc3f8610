"""The generated CRDs: in step with the models, structural, and carrying what kubectl shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentops_services.api.crd import SchemaError, _structural, all_crds, crd_yaml
from agentops_services.api.v1alpha1 import KINDS
from agentops_services.api.validation import _program
from tests.conftest import REPO

CRDS = all_crds()


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, prop in (node.get("properties") or {}).items():
        yield from walk(prop, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


def schema_of(kind: str) -> dict[str, Any]:
    crd = next(c for c in CRDS.values() if c["spec"]["names"]["kind"] == kind)
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize("directory", ["crds", "charts/agentops/crds"])
def test_repository_crds_match_the_models(directory: str) -> None:
    on_disk = {p.name: p.read_text() for p in (REPO / directory).glob("*.yaml")}
    assert on_disk == {name: crd_yaml(manifest) for name, manifest in CRDS.items()}


@pytest.mark.parametrize(
    ("kind", "short", "columns"),
    [
        ("Agent", "ag", ["Mode", "Model", "Phase", "Ready", "Age"]),
        (
            "AgentRun",
            "ar",
            ["Agent", "Source", "Phase", "Mode", "Intent", "Artifact", "Tokens", "Ready", "Age"],
        ),
        ("AgentTool", "agtool", ["Source", "Category", "Phase", "URL", "Ready", "Age"]),
        ("AgentResource", "ares", ["Kind", "Display Name", "Phase", "Ready", "Age"]),
        ("Channel", "ch", ["Type", "Agent", "Phase", "Webhook", "Ready", "Age"]),
        ("Provider", "prov", ["Type", "Phase", "Agents", "Ready", "Age"]),
    ],
)
def test_names_columns_and_status(kind: str, short: str, columns: list[str]) -> None:
    crd = next(c for c in CRDS.values() if c["spec"]["names"]["kind"] == kind)
    spec = crd["spec"]
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["agentops"]
    assert spec["scope"] == "Namespaced"
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == columns
    assert version["additionalPrinterColumns"][-1] == {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_structural_and_described(kind: str) -> None:
    for path, node in walk(schema_of(kind)):
        assert "$ref" not in node and "allOf" not in node and "oneOf" not in node, path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string"), path
        else:
            assert "type" in node, f"{kind}{path} has no type"
        if path and not path.endswith(("[]", ".*")) and not path.startswith(".metadata"):
            assert node.get("description"), f"{kind}{path} has no description (kubectl explain)"


@pytest.mark.parametrize("kind", KINDS)
def test_lists_are_bounded_for_cel_cost(kind: str) -> None:
    """The API server estimates CEL cost from maxItems/maxLength; every list a rule walks is bounded."""
    for path, node in walk(schema_of(kind)):
        if node.get("type") == "array" and "x-kubernetes-preserve-unknown-fields" not in node:
            assert "maxItems" in node, f"{kind}{path} is an unbounded list"


def test_status_carries_observed_generation_and_conditions() -> None:
    for kind in KINDS:
        status = schema_of(kind)["properties"]["status"]["properties"]
        assert status["observedGeneration"]["type"] == "integer"
        conditions = status["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
        assert set(conditions["items"]["required"]) >= {
            "type",
            "status",
            "lastTransitionTime",
            "reason",
            "message",
        }
    tool_status = schema_of("AgentTool")["properties"]["status"]["properties"]
    assert tool_status["discoveredTools"]["items"]["properties"]["inputSchema"][
        "x-kubernetes-preserve-unknown-fields"
    ]


def test_defaults_and_enums_reach_the_schema() -> None:
    spec = schema_of("Agent")["properties"]["spec"]["properties"]
    assert spec["maxSteps"] == {
        "default": 100,
        "description": "Most model calls per turn.",
        "maximum": 10000,
        "minimum": 1,
        "type": "integer",
    }
    assert spec["timeout"]["default"] == "10m"
    assert spec["mode"]["enum"] == ["daemon", "task"]
    assert spec["temperature"]["type"] == "number"
    assert spec["builtinTools"]["items"]["enum"][0] == "bash"
    assert "default" not in spec["image"], "the operator picks its own runtime image"
    quantity = spec["resources"]["properties"]["limits"]["additionalProperties"]
    assert quantity["x-kubernetes-int-or-string"] is True


def test_every_cel_rule_compiles() -> None:
    rules = [
        rule
        for kind in KINDS
        for _, node in walk(schema_of(kind))
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert len(rules) > 40
    for rule in rules:
        assert rule["message"]
        _program(rule["rule"])  # raises on a syntax error


def test_unsupported_schema_is_refused() -> None:
    with pytest.raises(SchemaError, match="unions"):
        _structural({"anyOf": [{"type": "string"}, {"type": "boolean"}]}, {}, "X.field")
    with pytest.raises(SchemaError, match="uniqueItems"):
        _structural({"type": "array", "uniqueItems": True}, {}, "X.field")
