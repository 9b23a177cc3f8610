"""YAML documents with the source line of every value, so errors can name file and line.

Parsing follows what the API server sees after `kubectl` turns YAML into JSON: timestamps stay
strings (PyYAML would make them datetimes) and a repeated key is an error rather than a silent
overwrite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

PathKey = tuple[str | int, ...]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _JsonLikeLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader without the implicit timestamp type."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class YamlDocument:
    """One document of a YAML stream."""

    data: Any
    line: int
    """1-based line where the document starts."""
    lines: dict[PathKey, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[PathKey, int]] = field(default_factory=list)

    def line_of(self, path: PathKey) -> int:
        """Line of the value at `path`, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return self.line


def _index(node: yaml.Node, path: PathKey, doc: YamlDocument, line: int | None = None) -> None:
    """Record the line of every value; a mapping entry's line is its key's."""
    doc.lines[path] = line or node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key == "<<":
                continue
            if key in seen:
                doc.duplicate_keys.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            _index(value_node, (*path, key), doc, key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), doc)


def load_documents(text: str) -> list[YamlDocument]:
    """Every non-empty document of `text`, with line information.

    Raises `YamlSyntaxError` naming the line and column of the first syntax error.
    """
    return list(_iter_documents(text))


def _iter_documents(text: str) -> Iterator[YamlDocument]:
    loader = _JsonLikeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = YamlDocument(data=loader.construct_document(node), line=node.start_mark.line + 1)
            if doc.data is None:
                continue
            _index(node, (), doc)
            yield doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(str(exc.problem or exc), line, column) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 1, 1) from exc
    finally:
        loader.dispose()


def dump_yaml(data: Any) -> str:
    """Block-style YAML that keeps the given key order (the order humans wrote or expect)."""
    return yaml.dump(
        data,
        Dumper=_BlockDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, the way people write prompts."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)
