"""Which field of a YAML text the cursor is on, so the help pane can follow the cursor.

Works on PyYAML's node tree, whose marks give each key and value a start and end position;
positions are 0-based (line, column), as in Textual's `TextArea.cursor_location`.
"""

from __future__ import annotations

import yaml

from agentops_tui.services.schema_help import PathPart

Position = tuple[int, int]


def path_at(text: str, line: int, column: int) -> tuple[PathPart, ...] | None:
    """The path of the field under the cursor (`("spec", "tools", 0, "name")`), `()` for the
    document itself, or None on a blank or comment line or when the text does not parse.

    A cursor in a line's indentation or on a list dash counts as being on what follows it, and
    a cursor anywhere on `key: value` or inside a block value belongs to that key.
    """
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    content = lines[line].lstrip(" -")
    if not content or content.startswith("#"):
        return None
    column = max(column, len(lines[line]) - len(content))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if root is None:
        return None
    return _find(root, (line, column), ())


def _find(node: yaml.Node, at: Position, path: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            if _start(key) <= at < _start(value) or _within(at, key):
                return here
            if _within(at, value):
                return _find(value, at, here)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if _within(at, item):
                return _find(item, at, (*path, index))
    return path


def _start(node: yaml.Node) -> Position:
    return node.start_mark.line, node.start_mark.column


def _within(at: Position, node: yaml.Node) -> bool:
    """Inside the node; a scalar or flow collection also owns the position just after it (the
    end of its line), while a block collection's end is where the next thing starts."""
    end = (node.end_mark.line, node.end_mark.column)
    inline = isinstance(node, yaml.ScalarNode) or bool(getattr(node, "flow_style", False))
    return _start(node) <= at < end or (inline and at == end)
