"""TraceQL, the subset the embedded trace store answers, parsed into a small syntax tree.

The store stands in for Tempo on one machine, so it must answer the queries the console and
people write; it does not need Tempo's whole language. What it takes (README "Trace store"):

    { }                           every span
    { COND }                      the spans for which COND holds; a trace matches when one does
    COND && COND, COND || COND    both / either, on the same span; ( ) to group
    {...} && {...}, {...} || {...}  a trace with spans matching both / either filter; ( ) to group
    ... | select(FIELD, ...)      fields each matched span carries in the answer (repeatable)

A COND is `FIELD OP LITERAL`:

- fields: `.attr` (the span's attribute, else its resource's), `span.attr`, `resource.attr`
  (e.g. `resource.service.name`); intrinsics `name`, `status`, `statusMessage`, `kind`,
  `duration`, `traceDuration`, `rootName`, `rootServiceName`, and their scoped spellings
  `span:name`, `span:status`, `span:statusMessage`, `span:kind`, `span:duration`,
  `trace:duration`, `trace:rootName`, `trace:rootService`
- operators: `= != =~ !~ > >= < <=`
- literals: "text" (Go escapes) or `raw text`, integers, decimals, `true`, `false`, `nil`,
  durations (`250ms`, `1.5s`, `1h30m`; units ns us µs ms s m h), status `error`, `ok`,
  `unset`, kind `unspecified`, `internal`, `server`, `client`, `producer`, `consumer`

Meanings as in Tempo: a regular expression must match the whole value; a comparison with a
missing attribute, or one of another type, is false (`= nil` and `!= nil` test presence);
strings compare byte by byte; `status` and `kind` take only `=` and `!=`; `duration` and
`traceDuration` compare with durations.

Anything else (structural operators `> >> < << ~`, pipeline stages other than select, such as
`count()` or `by()`, arithmetic, `!`, the `event.`, `link.`, `instrumentation.` and `parent.`
scopes, quoted attribute names) is a QueryError whose one-line message says where, in Tempo's
words: `invalid TraceQL query: parse error at line 1, col 3: ...`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, TypeAlias, TypeVar

from agentops_services.operator.builders.durations import parse_duration

Scope = Literal["span", "resource", "any"]
IntrinsicName = Literal[
    "name",
    "status",
    "statusMessage",
    "kind",
    "duration",
    "traceDuration",
    "rootName",
    "rootServiceName",
]
Operator = Literal["=", "!=", "=~", "!~", ">", ">=", "<", "<="]
ValueType = Literal["string", "int", "float", "bool", "nil", "duration", "status", "kind"]
Join = Literal["&&", "||"]

MAX_QUERY_CHARS = 8192
MAX_DEPTH = 32
"""Nesting of parentheses and braces; deeper is refused rather than recursed into."""
MAX_CONDITIONS = 128
MAX_REGEX_CHARS = 1024
STATUS_CODES = {"unset": 0, "ok": 1, "error": 2}
"""OTLP's Status.code numbers."""
SPAN_KINDS = {
    "unspecified": 0,
    "internal": 1,
    "server": 2,
    "client": 3,
    "producer": 4,
    "consumer": 5,
}
"""OTLP's Span.kind numbers."""
INTRINSIC_TYPES: dict[IntrinsicName, ValueType] = {
    "name": "string",
    "status": "status",
    "statusMessage": "string",
    "kind": "kind",
    "duration": "duration",
    "traceDuration": "duration",
    "rootName": "string",
    "rootServiceName": "string",
}
_SCOPED_INTRINSICS: dict[str, IntrinsicName] = {
    "span:name": "name",
    "span:status": "status",
    "span:statusMessage": "statusMessage",
    "span:kind": "kind",
    "span:duration": "duration",
    "trace:duration": "traceDuration",
    "trace:rootName": "rootName",
    "trace:rootService": "rootServiceName",
}
_OPERATORS: tuple[Operator, ...] = ("=", "!=", "=~", "!~", ">", ">=", "<", "<=")
_EQUALITY: tuple[Operator, ...] = ("=", "!=")
_ORDERING: tuple[Operator, ...] = ("=", "!=", ">", ">=", "<", "<=")
_PUNCTUATION = sorted(
    "{ } ( ) , && || | =~ !~ != = >= >> > <= << < ~ ! + - * / % ^ [ ] &".split(),
    key=len,
    reverse=True,
)
_STRUCTURAL = {">", ">>", "<", "<<", "~", "!~", "!>", "!<", "&>", "&<", "&~"}
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_UNIT = re.compile(r"[a-zA-Zµμ]+(?:[0-9.]+[a-zA-Zµμ]+)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATTRIBUTE = re.compile(r"""[^\s{}()=~!<>&|^,"`\[\]]+""")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


Node = TypeVar("Node")


class QueryError(ValueError):
    """A query outside the subset or malformed; the message is one line, Tempo's wording."""


@dataclass(frozen=True)
class Attribute:
    scope: Scope
    name: str

    def __str__(self) -> str:
        return f".{self.name}" if self.scope == "any" else f"{self.scope}.{self.name}"


@dataclass(frozen=True)
class Intrinsic:
    name: IntrinsicName

    def __str__(self) -> str:
        return self.name


Field: TypeAlias = Attribute | Intrinsic


@dataclass(frozen=True)
class Value:
    """A literal: its type and its value (durations in nanoseconds, status and kind by name)."""

    type: ValueType
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: Operator
    value: Value


@dataclass(frozen=True)
class Logical:
    """Two conditions on the same span."""

    op: Join
    left: Condition
    right: Condition


Condition: TypeAlias = Comparison | Logical


@dataclass(frozen=True)
class SpansetFilter:
    """`{ condition }`; `{}` (condition None) matches every span."""

    condition: Condition | None


@dataclass(frozen=True)
class SpansetOp:
    """Two filters over the same trace: both must find spans (&&), or either (||)."""

    op: Join
    left: Spansets
    right: Spansets


Spansets: TypeAlias = SpansetFilter | SpansetOp


@dataclass(frozen=True)
class Query:
    spansets: Spansets
    select: tuple[Field, ...] = ()

    def filters(self) -> list[SpansetFilter]:
        """The spanset filters, left to right."""
        found: list[SpansetFilter] = []

        def visit(node: Spansets) -> None:
            if isinstance(node, SpansetFilter):
                found.append(node)
            else:
                visit(node.left)
                visit(node.right)

        visit(self.spansets)
        return found

    def attributes(self) -> tuple[Attribute, ...]:
        """Attributes the conditions and `select` name, in order, once each: a matched span
        carries them in the search answer, as Tempo returns what it fetched."""
        seen: dict[Attribute, None] = {}
        for spanset in self.filters():
            for comparison in comparisons(spanset.condition):
                if isinstance(comparison.field, Attribute):
                    seen[comparison.field] = None
        for field in self.select:
            if isinstance(field, Attribute):
                seen[field] = None
        return tuple(seen)


MATCH_ALL = Query(SpansetFilter(None))
_WORDS: dict[str, Value] = {
    "true": Value("bool", True),
    "false": Value("bool", False),
    "nil": Value("nil", None),
    **{name: Value("status", name) for name in STATUS_CODES},
    **{name: Value("kind", name) for name in SPAN_KINDS},
}
"""Literals spelled as words."""


def comparisons(condition: Condition | None) -> list[Comparison]:
    if condition is None:
        return []
    if isinstance(condition, Comparison):
        return [condition]
    return comparisons(condition.left) + comparisons(condition.right)


@lru_cache(maxsize=256)
def compiled_regex(pattern: str) -> re.Pattern[str]:
    """A TraceQL regular expression; cached, as the store calls it for every span it tests."""
    return re.compile(pattern)


@dataclass(frozen=True)
class _Token:
    kind: Literal["punct", "string", "number", "duration", "word", "attribute", "end"]
    text: str
    start: int
    value: str | int | float | Attribute | None = None

    def describe(self) -> str:
        if self.kind == "end":
            return "end of query"
        if self.kind == "string":
            return f"string {self.text}"
        return f"{self.text!r}"


class _Lexer:
    """Tokens of a query, each with its offset for messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def error(self, at: int, message: str) -> QueryError:
        where = _where(self.text, at)
        return QueryError(f"invalid TraceQL query: parse error at {where}: {message}")

    def tokens(self) -> list[_Token]:
        found: list[_Token] = []
        while True:
            token = self._next()
            found.append(token)
            if token.kind == "end":
                return found

    def _next(self) -> _Token:
        text = self.text
        while self.at < len(text) and text[self.at].isspace():
            self.at += 1
        start = self.at
        if start >= len(text):
            return _Token("end", "", start)
        char = text[start]
        if char in '"`':
            return self._string(start)
        if char == "." and not text[start + 1 : start + 2].isdigit():
            return self._attribute("any", start, start + 1)
        number = _NUMBER.match(text, start)
        if number and (char != "-" or _after_operand_position(text, start)):
            return self._number(number)
        word = _IDENTIFIER.match(text, start)
        if word:
            return self._word(word)
        for symbol in _PUNCTUATION:
            if text.startswith(symbol, start):
                self.at = start + len(symbol)
                return _Token("punct", symbol, start)
        raise self.error(start, f"unexpected character {char!r}")

    def _string(self, start: int) -> _Token:
        quote, text = self.text[start], self.text
        if quote == "`":
            end = text.find("`", start + 1)
            if end < 0:
                raise self.error(start, "unterminated string")
            self.at = end + 1
            return _Token("string", text[start : end + 1], start, text[start + 1 : end])
        chars: list[str] = []
        at = start + 1
        while at < len(text) and text[at] != '"':
            if text[at] == "\\":
                escaped = text[at + 1 : at + 2]
                if escaped not in _ESCAPES:
                    raise self.error(at, f"unknown escape \\{escaped} in string")
                chars.append(_ESCAPES[escaped])
                at += 2
            else:
                chars.append(text[at])
                at += 1
        if at >= len(text):
            raise self.error(start, "unterminated string")
        self.at = at + 1
        return _Token("string", text[start : at + 1], start, "".join(chars))

    def _number(self, match: re.Match[str]) -> _Token:
        literal, end = match.group(), match.end()
        unit = _UNIT.match(self.text, end)
        if unit:
            spelled = literal + unit.group()
            self.at = unit.end()
            seconds = parse_duration(spelled)
            if seconds is None or literal.startswith("-") or "e" in literal.lower():
                raise self.error(
                    match.start(),
                    f"invalid duration {spelled!r} (e.g. 250ms, 1.5s, 1h30m; units ns us ms s m h)",
                )
            return _Token("duration", spelled, match.start(), round(seconds * 1e9))
        self.at = end
        is_float = any(c in literal for c in ".eE")
        value: int | float = float(literal) if is_float else int(literal)
        return _Token("number", literal, match.start(), value)

    def _word(self, match: re.Match[str]) -> _Token:
        word, end = match.group(), match.end()
        following = self.text[end : end + 1]
        if following == "." and word in ("span", "resource"):
            return self._attribute(word, match.start(), end + 1)  # type: ignore[arg-type]
        if following == "." and word in ("event", "link", "instrumentation", "parent"):
            raise self.error(match.start(), f"the {word}. scope is not supported")
        if following == ":" and word in ("span", "trace", "event", "link", "instrumentation"):
            intrinsic = _IDENTIFIER.match(self.text, end + 1)
            spelled = f"{word}:{intrinsic.group() if intrinsic else ''}"
            if spelled not in _SCOPED_INTRINSICS:
                raise self.error(match.start(), f"unknown intrinsic {spelled!r}")
            self.at = match.start() + len(spelled)
            return _Token("word", spelled, match.start(), _SCOPED_INTRINSICS[spelled])
        self.at = end
        return _Token("word", word, match.start(), word)

    def _attribute(self, scope: Scope, start: int, name_at: int) -> _Token:
        if self.text[name_at : name_at + 1] == '"':
            raise self.error(name_at, "quoted attribute names are not supported")
        name = _ATTRIBUTE.match(self.text, name_at)
        if name is None:
            raise self.error(start, "expected an attribute name after '.'")
        self.at = name.end()
        attribute = Attribute(scope, name.group())
        return _Token("attribute", self.text[start : name.end()], start, attribute)


def _after_operand_position(text: str, at: int) -> bool:
    """Whether a `-` at `at` starts a negative number: after an operator, not after a value."""
    before = text[:at].rstrip()
    return not before or before[-1] in "=~<>(,!|&"


def _where(text: str, at: int) -> str:
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return f"line {line}, col {column}"


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexer = _Lexer(text)
        self.tokens = self.lexer.tokens()
        self.index = 0
        self.depth = 0
        self.conditions = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.token
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, token: _Token, message: str) -> QueryError:
        return self.lexer.error(token.start, message)

    def unexpected(self, expected: str) -> QueryError:
        return self.error(self.token, f"unexpected {self.token.describe()}, expected {expected}")

    def is_punct(self, *symbols: str) -> bool:
        return self.token.kind == "punct" and self.token.text in symbols

    def expect(self, symbol: str, expected: str | None = None) -> None:
        if not self.is_punct(symbol):
            raise self.unexpected(expected or repr(symbol))
        self.advance()

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(self.token, f"nested deeper than {MAX_DEPTH} levels")

    # query := spansets ( '|' select )*
    def query(self) -> Query:
        spansets = self.spansets()
        selected: list[Field] = []
        while self.is_punct("|"):
            self.advance()
            selected.extend(self.pipeline_stage())
        if self.token.kind != "end":
            raise self._after_spanset()
        return Query(spansets, tuple(selected))

    def _after_spanset(self) -> QueryError:
        if self.token.kind == "punct" and self.token.text in _STRUCTURAL:
            return self.error(
                self.token,
                f"structural operator {self.token.text!r} is not supported "
                "(only && and || between spansets)",
            )
        return self.unexpected("&&, || or | after a spanset")

    def pipeline_stage(self) -> list[Field]:
        token = self.token
        if token.kind != "word" or token.text != "select":
            what = token.text if token.kind == "word" else token.describe()
            raise self.error(token, f"pipeline stage {what!r} is not supported (only select(...))")
        self.advance()
        self.expect("(", "'(' after select")
        fields = [self.field()]
        while self.is_punct(","):
            self.advance()
            fields.append(self.field())
        self.expect(")", "',' or ')'")
        return fields

    def joined(
        self, op: Join, operand: Callable[[], Node], join: Callable[[Join, Node, Node], Node]
    ) -> Node:
        """`operand (op operand)*`, joined from the left."""
        left = operand()
        while self.is_punct(op):
            self.advance()
            left = join(op, left, operand())
        return left

    # spansets := spanset_and ( '||' spanset_and )*; spanset_and := spanset ( '&&' spanset )*
    def spansets(self) -> Spansets:
        return self.joined("||", self.spanset_and, SpansetOp)

    def spanset_and(self) -> Spansets:
        return self.joined("&&", self.spanset, SpansetOp)

    # spanset := '{' [condition] '}' | '(' spansets ')'
    def spanset(self) -> Spansets:
        self.deeper()
        if self.is_punct("("):
            self.advance()
            inner = self.spansets()
            self.expect(")", "')' or a spanset operator")
        else:
            self.expect("{", "'{'")
            inner = SpansetFilter(None if self.is_punct("}") else self.condition())
            self.expect("}", "'}', && or ||")
        self.depth -= 1
        return inner

    # condition := condition_and ( '||' condition_and )*; condition_and likewise with '&&'
    def condition(self) -> Condition:
        return self.joined("||", self.condition_and, Logical)

    def condition_and(self) -> Condition:
        return self.joined("&&", self.condition_term, Logical)

    def condition_term(self) -> Condition:
        if self.is_punct("("):
            self.deeper()
            self.advance()
            inner = self.condition()
            self.expect(")", "')', && or ||")
            self.depth -= 1
            return inner
        if self.is_punct("!"):
            raise self.error(self.token, "negation (!) is not supported; use != or !~")
        return self.comparison()

    def comparison(self) -> Comparison:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.error(self.token, f"more than {MAX_CONDITIONS} conditions")
        field = self.field()
        op_token = self.token
        if op_token.kind != "punct" or op_token.text not in _OPERATORS:
            if op_token.kind == "punct" and op_token.text in "+-*/%^":
                raise self.error(op_token, "arithmetic is not supported")
            raise self.unexpected("a comparison operator (= != =~ !~ > >= < <=)")
        self.advance()
        op: Operator = op_token.text
        value_token = self.token
        value = self.literal()
        _check_types(self, field, op, value, op_token, value_token)
        return Comparison(field, op, value)

    def field(self) -> Field:
        token = self.token
        if token.kind == "attribute":
            assert isinstance(token.value, Attribute)
            self.advance()
            return token.value
        if token.kind == "word" and token.value in INTRINSIC_TYPES:
            self.advance()
            return Intrinsic(token.value)
        raise self.unexpected(
            "an attribute (.name, span.name, resource.name) or an intrinsic "
            "(name, status, statusMessage, kind, duration, traceDuration, rootName, "
            "rootServiceName)"
        )

    def literal(self) -> Value:
        token = self.token
        value: Value | None = None
        if token.kind == "string" and isinstance(token.value, str):
            value = Value("string", token.value)
        elif token.kind == "number" and isinstance(token.value, int | float):
            value = Value("float" if isinstance(token.value, float) else "int", token.value)
        elif token.kind == "duration" and isinstance(token.value, int):
            value = Value("duration", token.value)
        elif token.kind == "word":
            value = _WORDS.get(token.text)
        if value is None:
            raise self.unexpected("a value (a string, number, duration, true, false or nil)")
        self.advance()
        return value


def _check_types(
    parser: _Parser,
    field: Field,
    op: Operator,
    value: Value,
    op_token: _Token,
    value_token: _Token,
) -> None:
    """Refuse comparisons Tempo refuses, or that could never match, at the token at fault."""
    wanted = INTRINSIC_TYPES[field.name] if isinstance(field, Intrinsic) else None
    if wanted in ("status", "kind"):
        if value.type != wanted:
            names = ", ".join(STATUS_CODES if wanted == "status" else SPAN_KINDS)
            raise parser.error(value_token, f"{field} compares with one of {names}")
        if op not in _EQUALITY:
            raise parser.error(op_token, f"{field} takes only = and !=")
        return
    if wanted == "duration":
        if value.type != "duration":
            raise parser.error(value_token, f"{field} compares with a duration such as 100ms")
        if op not in _ORDERING:
            raise parser.error(op_token, f"{op} does not apply to durations")
        return
    if wanted == "string" and value.type not in ("string", "nil"):
        raise parser.error(value_token, f"{field} compares with a string")
    if value.type in ("status", "kind", "duration"):
        raise parser.error(
            value_token,
            f"{value_token.text} compares only with "
            + {"status": "status", "kind": "kind", "duration": "duration or traceDuration"}[
                value.type
            ],
        )
    if op in ("=~", "!~"):
        if value.type != "string":
            raise parser.error(value_token, f"{op} takes a string (a regular expression)")
        _check_regex(parser, str(value.value), value_token)
    elif value.type in ("bool", "nil") and op not in _EQUALITY:
        raise parser.error(op_token, f"{op} does not apply to {value_token.text}")


def _check_regex(parser: _Parser, pattern: str, token: _Token) -> None:
    if len(pattern) > MAX_REGEX_CHARS:
        raise parser.error(token, f"regular expression longer than {MAX_REGEX_CHARS} characters")
    try:
        compiled_regex(pattern)
    except re.error as exc:
        raise parser.error(token, f"invalid regular expression: {exc}") from None


def parse_field(text: str) -> Field:
    """One field alone (`resource.service.name`, `.http.route`, `status`), as tag-value routes
    name them; QueryError otherwise."""
    parser = _Parser(text)
    field = parser.field()
    if parser.token.kind != "end":
        raise parser.unexpected("end of the field name")
    return field


def parse(text: str) -> Query:
    """The query; QueryError with a one-line message for anything outside the subset. An empty
    query is `{}`, as Tempo takes it."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"invalid TraceQL query: longer than {MAX_QUERY_CHARS} characters")
    if not text.strip():
        return MATCH_ALL
    return _Parser(text).query()
