"""Base model and shared field types of the API contract.

Every wire model derives from `ApiModel`: camelCase on the wire, snake_case in Python, strict
types (the API server rejects `maxSteps: "5"`, so we do too) and unknown fields refused (what
`kubectl apply` does with its default strict field validation). Attribute docstrings become the
field descriptions that `kubectl explain` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

CelReason = Literal["FieldValueRequired", "FieldValueForbidden", "FieldValueInvalid"]


@dataclass(frozen=True)
class CelRule:
    """One `x-kubernetes-validations` rule.

    The same rule text is evaluated by the API server (in the CRD) and in-process by
    `api.validation` (embedded mode, `agentops validate`), so both reject exactly the same
    objects with exactly the same message. Rules use only standard CEL so that both
    evaluators agree.
    """

    rule: str
    message: str
    field_path: str | None = None
    """Where the error is reported, relative to the object the rule is attached to (".storage")."""
    reason: CelReason | None = None

    def to_schema(self) -> dict[str, str]:
        out = {"rule": self.rule, "message": self.message}
        if self.field_path:
            out["fieldPath"] = self.field_path
        if self.reason:
            out["reason"] = self.reason
        return out


class ApiModel(BaseModel):
    """Base of every wire model (CRDs, runtime config, FEP, memory API)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        strict=True,
        use_attribute_docstrings=True,
        # Validators are built on first use, not at import: a process that never validates
        # a kind (the console reads plain dicts) does not pay for it at start.
        defer_build=True,
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = ()
    """Cross-field rules of this object, published as `x-kubernetes-validations`."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        own_rules = cls.__dict__.get("cel_rules", ())
        if own_rules:
            target = handler.resolve_ref_schema(schema)
            target["x-kubernetes-validations"] = [r.to_schema() for r in own_rules]
        return schema

    def to_wire(self) -> dict[str, Any]:
        """The object as it was given: unset fields stay absent, so YAML round-trips."""
        return self.model_dump(mode="json", exclude_unset=True)

    def to_defaulted(self) -> dict[str, Any]:
        """The object as the API server stores it: defaults applied, absent optionals omitted."""
        return self.model_dump(mode="json", exclude_none=True)


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"must be an RFC 3339 timestamp, got {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def format_time(value: datetime) -> str:
    """Kubernetes' metav1.Time wire form: UTC, second precision, trailing Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Time = Annotated[
    datetime,
    BeforeValidator(_parse_time),
    PlainSerializer(format_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timestamp that reads RFC 3339 text and writes it back the way the API server does."""


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("k8s_type", "must be of type number", {"type": "number"})
    return value


Number = Annotated[int | float, PlainValidator(_number), WithJsonSchema({"type": "number"})]
"""A JSON number. Kept as int when written as one, so `temperature: 1` round-trips unchanged."""

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY = re.compile(QUANTITY_PATTERN)


def _quantity(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("k8s_type", "must be of type string", {"type": "string"})
    if isinstance(value, str) and not _QUANTITY.match(value):
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": QUANTITY_PATTERN},
        )
    return value


Quantity = Annotated[
    int | str,
    PlainValidator(_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "x-kubernetes-int-or-string": True,
        }
    ),
]
"""A Kubernetes resource quantity such as `100m`, `512Mi` or `2`."""

JsonObject = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
"""Free-form JSON object kept as given (for example a tool's input schema)."""


def field_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(dotted field path, message) for each problem, in pydantic's order."""
    return [(".".join(str(part) for part in error["loc"]), error["msg"]) for error in exc.errors()]


def describe_errors(exc: ValidationError) -> str:
    """Every problem as `field: message`, joined with '; '."""
    return "; ".join(f"{where}: {msg}" if where else msg for where, msg in field_errors(exc))
