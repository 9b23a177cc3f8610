"""Replacing or removing one document of a multi-document YAML file, leaving the rest of the
text as it was.

Re-dumping a whole file through PyYAML would lose every comment and every layout choice in
it. Instead the document is found by its kind and name in the parser's marks and only its
text is cut out or swapped; the other documents, the `---` lines and the comments between
documents stay byte for byte. The edited document is the editor's text as written when it
holds nothing but what a file holds (comments kept); when it carries what the store adds
(status, uid, resourceVersion: a `kubectl edit`-style buffer) it is written fresh from its
data without those, and its comments are lost (PyYAML keeps none; a round-trip YAML library
for that one document was not worth a dependency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from agentops_services.local.kinds import Key


@dataclass(frozen=True)
class DocumentSpan:
    key: Key | None
    """(kind, name) when the document says them; None otherwise."""
    start: int
    """Where the document begins (its `---` when it has one)."""
    content_start: int
    content_end: int
    """The document's data and its last line's comment, without the comments and blank lines
    after it."""


def document_spans(text: str) -> list[DocumentSpan]:
    """Every non-empty document of `text`; yaml.YAMLError when it does not parse."""
    loader: Any = yaml.SafeLoader(text)  # the parser's event methods carry no types
    spans = []
    try:
        loader.get_event()  # stream start
        while not loader.check_event(yaml.StreamEndEvent):
            start = loader.peek_event().start_mark.index
            node = loader.get_node()
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
                continue
            end = _content_end(node)
            while end > node.start_mark.index and text[end - 1] in "\r\n":
                end -= 1
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            if text[end:line_end].strip().startswith("#"):
                end = line_end  # the last line's own comment goes with it
            spans.append(DocumentSpan(_key(node), start, node.start_mark.index, end))
    finally:
        loader.dispose()
    return spans


def document_text(text: str) -> str | None:
    """The text of the first document, from the start of `text` (its leading comments) to its
    last value, without a `---` marker (so it can take another document's place); None when
    it is written in flow style (JSON), which reads better in a file dumped as block YAML."""
    span = document_spans(text)[0]
    if text[span.content_start] in "{[":
        return None
    lines = text[: span.content_end].split("\n")
    return "\n".join(line for line in lines if line.rstrip() != "---")


def replace_document(text: str, key: Key, document: str) -> str:
    """`text` with the document of that kind and name replaced by `document` (appended as a
    new document when there is none)."""
    document = document.rstrip("\n")
    span = _find(text, key)
    if span is None:
        body = text.rstrip("\n")
        return f"{body}\n---\n{document}\n" if body.strip() else f"{document}\n"
    return text[: span.content_start] + document + text[span.content_end :]


def remove_document(text: str, key: Key) -> str | None:
    """`text` without the document of that kind and name, from its start to the next
    document's; None when nothing but comments and blank lines would remain. The text
    unchanged when there is no such document."""
    spans = document_spans(text)
    index = next((i for i, span in enumerate(spans) if span.key == key), None)
    if index is None:
        return text
    end = spans[index + 1].start if index + 1 < len(spans) else len(text)
    rest = text[: spans[index].start] + text[end:]
    if len(spans) == 1:
        return None
    return rest


def _find(text: str, key: Key) -> DocumentSpan | None:
    return next((span for span in document_spans(text) if span.key == key), None)


def _content_end(node: yaml.Node) -> int:
    """End of the last value in the node: a block collection's own end mark reaches over the
    comments and blank lines that follow it."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return int(node.end_mark.index)
    children: list[yaml.Node] = []
    for item in node.value:
        children.extend(item if isinstance(item, tuple) else (item,))
    return max((_content_end(child) for child in children), default=node.end_mark.index)


def _key(node: yaml.Node) -> Key | None:
    fields = _scalars(node)
    metadata = _mapping_value(node, "metadata")
    name = _scalars(metadata).get("name") if metadata is not None else None
    kind = fields.get("kind")
    return (kind, name) if kind and name else None


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if k.value == key), None)


def _scalars(node: yaml.Node) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): str(v.value) for k, v in node.value if isinstance(v, yaml.ScalarNode)}
