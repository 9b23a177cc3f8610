"""TraceQL conditions as SQLite expressions over the trace store's tables.

Compiling to SQL lets SQLite test every span in C, where a Python loop over decoded attributes
would spend most of a search in the interpreter. The expressions use the aliases the store's
queries give: `s` a span row and `t` its trace's summary (`o`, the span's origin, in tag values).
Attributes are JSON objects (`s.attrs`, `resource_attrs` of origins) read with json_extract; every
comparison first checks the value's JSON type, so a string never equals a number and a missing
attribute matches nothing, as in Tempo. Literals travel as named parameters, never inside the
SQL text.
"""

from __future__ import annotations

from typing import Any

from agentops_services.traces.traceql import (
    SPAN_KINDS,
    STATUS_CODES,
    Attribute,
    Comparison,
    Condition,
    Field,
    Intrinsic,
    IntrinsicName,
    Value,
    compiled_regex,
)

REGEX_FUNCTION = "traceql_match"
"""The SQL function the store registers on its connections (see `regex_match`)."""
_COLUMNS: dict[IntrinsicName, str] = {
    "name": "s.name",
    "statusMessage": "s.status_message",
    "status": "s.status_code",
    "kind": "s.kind",
    "duration": "(s.end_ns - s.start_ns)",
    "traceDuration": "(t.end_ns - t.start_ns)",
    "rootName": "COALESCE(t.root_name, '')",
    "rootServiceName": "COALESCE(t.root_service, '')",
}
_DOCUMENTS = {"span": "s.attrs", "resource": "o.resource_attrs"}
_NUMBERS = {"int", "float"}


def regex_match(pattern: str, value: Any) -> int:
    """1 when the whole of a text `value` matches (TraceQL regexes are anchored), else 0."""
    return int(isinstance(value, str) and compiled_regex(pattern).fullmatch(value) is not None)


class Params:
    """Named SQL parameters, collected as fragments are compiled."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


def condition_sql(condition: Condition | None, params: Params) -> str:
    """An SQL expression true for the spans the condition holds for (`{}`: every span)."""
    if condition is None:
        return "1"
    if isinstance(condition, Comparison):
        return _comparison(condition, params)
    joined = " AND " if condition.op == "&&" else " OR "
    left, right = condition_sql(condition.left, params), condition_sql(condition.right, params)
    return f"({left}{joined}{right})"


def _comparison(comparison: Comparison, params: Params) -> str:
    field, op, value = comparison.field, comparison.op, comparison.value
    if isinstance(field, Intrinsic):
        return _on_column(field.name, op, value, params)
    path = params.add(_json_path(field.name))
    on_span = _on_document(_DOCUMENTS["span"], path, op, value, params)
    # A resource is shared by many spans: the origins it holds for are found once (SQLite
    # evaluates an uncorrelated IN subquery once), not its JSON parsed again for every span.
    on_resource = (
        "(s.origin_id IN (SELECT r.id FROM origins r WHERE "
        f"{_on_document('r.resource_attrs', path, op, value, params)}))"
    )
    if field.scope != "any":
        return on_span if field.scope == "span" else on_resource
    # Unscoped: the span's attribute when it has one, else the resource's (Tempo's order).
    present = f"json_type(s.attrs, {path}) IS NOT NULL"
    return f"(CASE WHEN {present} THEN {on_span} ELSE {on_resource} END)"


def _on_document(document: str, path: str, op: str, value: Value, params: Params) -> str:
    kind = f"json_type({document}, {path})"
    raw = f"json_extract({document}, {path})"
    if value.type == "nil":
        return f"({kind} IS NULL)" if op == "=" else f"({kind} IS NOT NULL)"
    if value.type == "bool":
        wanted = "true" if value.value == (op == "=") else "false"
        return f"({kind} = '{wanted}')"
    if op in ("=~", "!~"):
        negate = "NOT " if op == "!~" else ""
        return f"({kind} = 'text' AND {negate}{REGEX_FUNCTION}({params.add(value.value)}, {raw}))"
    types = "'integer', 'real'" if value.type in _NUMBERS else "'text'"
    return f"({kind} IN ({types}) AND {raw} {op} {params.add(value.value)})"


def _on_column(name: IntrinsicName, op: str, value: Value, params: Params) -> str:
    column = _COLUMNS[name]
    if value.type == "nil":
        return f"({column} IS NULL)" if op == "=" else f"({column} IS NOT NULL)"
    if op in ("=~", "!~"):
        negate = "NOT " if op == "!~" else ""
        return f"({negate}{REGEX_FUNCTION}({params.add(value.value)}, {column}))"
    literal = value.value
    if value.type == "status":
        literal = STATUS_CODES[str(value.value)]
    elif value.type == "kind":
        literal = SPAN_KINDS[str(value.value)]
    return f"({column} {op} {params.add(literal)})"


def field_sql(field: Field, params: Params) -> tuple[str, str]:
    """A field's value and its type as SQL expressions (for tag values): the type is a JSON
    type name (`text`, `integer`, `real`, `true`, `false`), or `keyword` or `duration` for
    intrinsics, and NULL where the span has no such value."""
    if isinstance(field, Intrinsic):
        column = _COLUMNS[field.name]
        if field.name in ("status", "kind"):
            names = STATUS_CODES if field.name == "status" else SPAN_KINDS
            cases = " ".join(f"WHEN {number} THEN '{name}'" for name, number in names.items())
            return f"(CASE {column} {cases} END)", "'keyword'"
        if field.name in ("duration", "traceDuration"):
            return column, "'duration'"
        return column, f"(CASE WHEN {column} != '' THEN 'text' END)"
    path = params.add(_json_path(field.name))
    if field.scope != "any":
        document = _DOCUMENTS[field.scope]
        return f"json_extract({document}, {path})", f"json_type({document}, {path})"
    document = (
        f"(CASE WHEN json_type(s.attrs, {path}) IS NOT NULL THEN s.attrs ELSE o.resource_attrs END)"
    )
    return f"json_extract({document}, {path})", f"json_type({document}, {path})"


def _json_path(key: str) -> str:
    """A JSON path naming one key, dots and all (the lexer lets no `"` into a name)."""
    return f'$."{key}"'


def attribute_value(attribute: Attribute, span: dict[str, Any], resource: dict[str, Any]) -> Any:
    """An attribute's value on a span already read, by the rule the SQL applies."""
    if attribute.scope == "span":
        return span.get(attribute.name)
    if attribute.scope == "resource":
        return resource.get(attribute.name)
    return span[attribute.name] if attribute.name in span else resource.get(attribute.name)
