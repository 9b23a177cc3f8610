"""Validate custom resources in-process exactly as the API server does.

Two layers, both derived from the models that generate the CRDs:

1. the structural schema (types, enums, bounds, required fields, unknown fields), checked by
   pydantic and reported in the API server's wording;
2. the CEL `x-kubernetes-validations` rules, evaluated with a CEL interpreter on the object with
   defaults applied, as the API server evaluates them.

Errors carry the field path and the Kubernetes error body (`spec.storage: Forbidden: ...`), so a
message in the console, in `agentops validate` and from `kubectl apply` reads the same.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from agentops_services.api.model import ApiModel, CelRule
from agentops_services.api.v1alpha1 import API_VERSION, GROUP, KINDS, Resource

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, in the API server's words."""

    path: PathKey
    detail: str
    """The Kubernetes error body, e.g. `Required value` or `Forbidden: <why>`."""

    @property
    def field(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.path else self.detail


@dataclass
class ValidationResult:
    """The outcome of validating one object."""

    resource: Resource | None = None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def format_path(path: PathKey) -> str:
    """`("spec", "tools", 0, "name")` -> `spec.tools[0].name`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def is_our_group(api_version: Any) -> bool:
    return isinstance(api_version, str) and api_version.split("/")[0] == GROUP


def validate_resource(data: Any, old: Mapping[str, Any] | None = None) -> ValidationResult:
    """Validate one object of any of our kinds; `old` enables transition rules (updates)."""
    if not isinstance(data, Mapping):
        return ValidationResult(
            errors=[FieldError((), f'Invalid value: "{_json_type(data)}": expected an object')]
        )
    head = _check_head(data)
    if head:
        return ValidationResult(errors=head)
    cls = KINDS[data["kind"]]
    try:
        resource = cls.model_validate(data)
    except ValidationError as exc:
        return ValidationResult(errors=[_schema_error(e) for e in exc.errors()])
    errors = list(cel_errors(resource, old=old))
    warnings = resource.warnings() if hasattr(resource, "warnings") else []
    return ValidationResult(resource=resource, errors=errors, warnings=warnings)


def validate_status(kind: str, status: Any) -> list[FieldError]:
    """Structural errors of a status a controller writes (what the API server checks on the
    /status subresource: the schema, no CEL), in the same words as `validate_resource`."""
    try:
        _status_adapter(kind).validate_python(status)
    except ValidationError as exc:
        errors = exc.errors()
        for error in errors:
            error["loc"] = ("status", *error["loc"])
        return [_schema_error(error) for error in errors]
    return []


@cache
def _status_adapter(kind: str) -> TypeAdapter[Any]:
    annotation: Any = KINDS[kind].model_fields["status"].annotation
    return TypeAdapter(annotation)


def _check_head(data: Mapping[str, Any]) -> list[FieldError]:
    api_version, kind = data.get("apiVersion"), data.get("kind")
    errors = []
    if api_version != API_VERSION:
        detail = (
            "Required value"
            if api_version is None
            else f'Unsupported value: {_quote(api_version)}: supported values: "{API_VERSION}"'
        )
        errors.append(FieldError(("apiVersion",), detail))
    if kind not in KINDS:
        supported = ", ".join(f'"{k}"' for k in KINDS)
        detail = (
            "Required value"
            if kind is None
            else f"Unsupported value: {_quote(kind)}: supported values: {supported}"
        )
        errors.append(FieldError(("kind",), detail))
    return errors


# --- structural errors -------------------------------------------------------------------

_JSON_TYPE_OF_ERROR = {
    "string_type": "string",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


def _schema_error(error: ErrorDetails) -> FieldError:
    path: PathKey = tuple(error["loc"])
    where = format_path(path)
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return FieldError(path, "Required value")
    if kind == "extra_forbidden":
        return FieldError(path, f'unknown field "{where}"')
    if kind == "literal_error":
        supported = ", ".join(f'"{v}"' for v in re.findall(r"'([^']*)'", ctx.get("expected", "")))
        return FieldError(
            path, f"Unsupported value: {_quote(value)}: supported values: {supported}"
        )
    expected_type = _JSON_TYPE_OF_ERROR.get(kind) or (
        ctx.get("type") if kind == "k8s_type" else None
    )
    if expected_type:
        got = _json_type(value)
        return FieldError(
            path,
            f'Invalid value: "{got}": {where} in body must be of type {expected_type}: "{got}"',
        )
    body = _bound_error(kind, where, value, ctx)
    if body:
        return FieldError(path, body)
    return FieldError(path, f"Invalid value: {_quote(value)}: {error['msg']}")


_BOUND_ERRORS = {
    "string_too_short": "Invalid value: {shown}: {where} in body should be at least "
    "{min_length} chars long",
    "string_too_long": "Too long: may not be more than {max_length} bytes",
    "too_short": "Invalid value: {count}: {where} in body should have at least {min_length} items",
    "too_long": "Too many: {count}: must have at most {max_length} items",
    "greater_than_equal": "Invalid value: {shown}: {where} in body should be greater than or "
    "equal to {ge}",
    "less_than_equal": "Invalid value: {shown}: {where} in body should be less than or equal to "
    "{le}",
    "string_pattern_mismatch": "Invalid value: {shown}: {where} in body should match '{pattern}'",
}
"""The API server's wording for schema bound violations, keyed by pydantic error type."""


def _bound_error(kind: str, where: str, value: Any, ctx: dict[str, Any]) -> str | None:
    template = _BOUND_ERRORS.get(kind)
    if template is None:
        return None
    count = len(value) if isinstance(value, list | dict | str) else 0
    bounds = {k: _num(v) for k, v in ctx.items()}
    return template.format(shown=_quote(value), where=where, count=count, **bounds)


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return f'"{_json_type(value)}"'


def _json_type(value: Any) -> str:
    for py_type, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    ):
        if isinstance(value, py_type):
            return name
    return "null"


# --- CEL rules ---------------------------------------------------------------------------

_REASON_BODY = {"FieldValueRequired": "Required value", "FieldValueForbidden": "Forbidden"}


@cache
def _cel_engine() -> ModuleType:
    """The CEL engine: the `common-expression-language` package's Rust extension, loaded on
    its own. The package's `__init__` also imports its interactive REPL (typer, prompt_toolkit,
    pygments), ~25 MB of memory in every process that validates, the operator among them."""
    package = importlib.util.find_spec("cel")
    if package is None or not package.submodule_search_locations:
        raise ImportError("the common-expression-language package is not installed")
    folder = Path(package.submodule_search_locations[0])
    library = next(
        path
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        for path in folder.glob(f"cel{suffix}")
    )
    loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(library))
    spec = importlib.util.spec_from_loader("cel.cel", loader, origin=str(library))
    assert spec is not None
    engine = importlib.util.module_from_spec(spec)
    loader.exec_module(engine)
    return engine


@cache
def _program(rule: str) -> Any:
    return _cel_engine().compile(rule)


def rule_holds(rule: CelRule, current: Any, old: Any | None = None) -> bool:
    """Evaluate one rule; raises on an evaluation error (a bug in the rule, not the object)."""
    context = {"self": current} if old is None else {"self": current, "oldSelf": old}
    return bool(_program(rule.rule).execute(context))


def is_transition_rule(rule: CelRule) -> bool:
    return "oldSelf" in rule.rule


def cel_errors(
    model: ApiModel, old: Mapping[str, Any] | None = None, path: PathKey = ()
) -> Iterator[FieldError]:
    """Every CEL rule of `model` and of the models inside it that does not hold.

    `old` is the stored (wire) form of the same object before an update; transition rules
    (those using oldSelf) run only when it is given, as on the API server.
    """
    rules = type(model).__dict__.get("cel_rules", ())
    if rules:
        current = model.to_defaulted()
        for rule in rules:
            if is_transition_rule(rule) and old is None:
                continue
            try:
                holds = rule_holds(rule, current, old)
            except Exception as exc:  # the rule itself is broken: say so, never crash
                yield FieldError(path, f"Internal error: rule {rule.rule!r} failed: {exc}")
                continue
            if not holds:
                yield _rule_error(rule, path)
    for name, info in type(model).model_fields.items():
        alias = info.alias or name
        old_child = old.get(alias) if old is not None else None
        yield from _children_errors(getattr(model, name), old_child, (*path, alias))


def _children_errors(value: Any, old: Any, path: PathKey) -> Iterator[FieldError]:
    if isinstance(value, ApiModel):
        yield from cel_errors(value, old if isinstance(old, Mapping) else None, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, ApiModel):
                yield from cel_errors(item, None, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, ApiModel):
                yield from cel_errors(item, None, (*path, key))


def _rule_error(rule: CelRule, path: PathKey) -> FieldError:
    where = path
    if rule.field_path:
        where = (*path, *rule.field_path.strip(".").split("."))
    reason_body = _REASON_BODY.get(rule.reason or "", "Invalid value")
    return FieldError(where, f"{reason_body}: {rule.message}")
