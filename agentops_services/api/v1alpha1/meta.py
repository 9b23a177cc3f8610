"""Object metadata, conditions and the base of every custom resource."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, TypeVar

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from agentops_services.api.model import ApiModel, CelRule, Time

GROUP = "agents.agentops.io"
VERSION = "v1alpha1"
API_VERSION: Final = "agents.agentops.io/v1alpha1"

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# What the API server answers for a bad object name, word for word.
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


class OwnerReference(ApiModel):
    """A reference to the object that owns this one (garbage collection follows it)."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(ApiModel):
    """Which field manager owns which fields (server-side apply bookkeeping)."""

    manager: str | None = None
    operation: str | None = None
    api_version: str | None = None
    time: Time | None = None
    fields_type: str | None = None
    fields_v1: dict[str, Any] | None = Field(None, alias="fieldsV1")
    subresource: str | None = None


class ObjectMeta(ApiModel):
    """Standard Kubernetes object metadata."""

    name: str | None = Field(None, max_length=253)
    generate_name: str | None = None
    namespace: str | None = Field(None, max_length=63)
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[ManagedFieldsEntry] | None = None
    self_link: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_subdomain(cls, value: str | None) -> str | None:
        if value is not None and not DNS1123_SUBDOMAIN.match(value):
            raise PydanticCustomError("k8s_invalid", _SUBDOMAIN_MESSAGE)
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace_is_label(cls, value: str | None) -> str | None:
        if value is not None and not DNS1123_LABEL.match(value):
            raise PydanticCustomError("k8s_invalid", _LABEL_MESSAGE)
        return value


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(ApiModel):
    """One aspect of the object's current state (Kubernetes' metav1.Condition)."""

    type: str = Field(max_length=316)
    """Condition type in CamelCase, for example Ready or Accepted."""
    status: ConditionStatus
    """True, False or Unknown."""
    observed_generation: int | None = Field(None, ge=0)
    """The .metadata.generation the condition was computed from."""
    last_transition_time: Time
    """When the status last changed."""
    reason: str = Field(
        min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
    )
    """Machine-readable CamelCase reason for the last transition."""
    message: str = Field(max_length=32768)
    """Human-readable details."""


Conditions = list[Condition]


class ConditionedStatus(ApiModel):
    """Status fields every kind carries: the generation seen and the conditions."""

    observed_generation: int | None = Field(None, ge=0)
    """The .metadata.generation the controller last acted on."""
    conditions: list[Condition] | None = Field(
        None,
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Current state; every kind has Accepted (spec and references valid) and Ready."""

    def condition(self, type_: str) -> Condition | None:
        """The condition of that type, if any."""
        return next((c for c in self.conditions or () if c.type == type_), None)


@dataclass(frozen=True)
class PrinterColumn:
    """An `additionalPrinterColumns` entry: what `kubectl get` shows."""

    name: str
    json_path: str
    type: Literal["string", "integer", "number", "boolean", "date"] = "string"
    priority: int = 0
    description: str = ""


READY_COLUMN = PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status')
AGE_COLUMN = PrinterColumn("Age", ".metadata.creationTimestamp", "date")


@dataclass(frozen=True)
class CrdInfo:
    """Names and presentation of a kind, for the generated CustomResourceDefinition."""

    plural: str
    short_names: tuple[str, ...]
    printer_columns: tuple[PrinterColumn, ...]
    categories: tuple[str, ...] = ("agentops",)

    @property
    def singular(self) -> str:
        return self.plural.removesuffix("s")


class Resource(ApiModel):
    """Fields shared by every custom resource of the group."""

    crd: ClassVar[CrdInfo]
    api_version: Literal["agents.agentops.io/v1alpha1"] = API_VERSION
    """APIVersion of this representation of the object."""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    """Standard object metadata."""

    @property
    def name(self) -> str:
        return self.metadata.name or ""

    @property
    def namespace(self) -> str | None:
        return self.metadata.namespace

    def to_wire(self) -> dict[str, Any]:
        """The object as written, always led by apiVersion and kind."""
        wire = super().to_wire()
        head = {"apiVersion": self.api_version, "kind": self.kind_name()}
        return head | {k: v for k, v in wire.items() if k not in head}

    @classmethod
    def kind_name(cls) -> str:
        return cls.__name__


SelectorValue = TypeVar("SelectorValue", bound=str)


def block_rules(
    selector: str,
    block_for_value: Mapping[SelectorValue, str],
    required: Iterable[SelectorValue],
) -> tuple[CelRule, ...]:
    """Rules for a spec whose `selector` field picks one configuration block.

    The block of the chosen value must be present when that value is in `required`, and the
    block of every other value must be absent.
    """
    needs = tuple(
        CelRule(
            rule=f"self.{selector} != '{value}' || has(self.{block_for_value[value]})",
            message=f"{block_for_value[value]} config is required for {selector}={value}",
            field_path=f".{block_for_value[value]}",
            reason="FieldValueRequired",
        )
        for value in required
    )
    refuses = tuple(
        CelRule(
            rule=f"self.{selector} == '{value}' || !has(self.{block})",
            message=f"{block} config is only allowed for {selector}={value}",
            field_path=f".{block}",
            reason="FieldValueForbidden",
        )
        for value, block in block_for_value.items()
    )
    return needs + refuses


def name_rule(max_length: int, label: bool, why: str) -> CelRule:
    """A root rule on metadata.name for kinds whose name ends up inside a Service or label."""
    pattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$" if label else "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    shape = "start with a letter, " if label else ""
    return CelRule(
        rule=(
            "!has(self.metadata.name) || "
            f"(size(self.metadata.name) <= {max_length} && self.metadata.name.matches('{pattern}'))"
        ),
        message=(
            f"metadata.name must be at most {max_length} characters, {shape}contain only "
            f"lower-case letters, digits and '-', and not contain '.' ({why})"
        ),
        field_path=".metadata.name",
    )
