"""One document of a YAML file replaced or removed, the rest of the text left byte for byte."""

from __future__ import annotations

import pytest
import yaml

from agentops_services.local.documents import document_text, remove_document, replace_document

FILE = """\
# header: stays
apiVersion: v1
kind: A
metadata:
  name: a   # trailing
spec:
  text: |
    hello

# between a and b: stays
---
# b's own comment
kind: B
metadata: {name: b}
...
---
kind: C
metadata:
  name: c
"""


def test_replace_swaps_only_the_document_data() -> None:
    replaced = replace_document(FILE, ("A", "a"), "kind: A\nmetadata:\n  name: a\nspec: 1\n")
    assert replaced == FILE.replace(
        "apiVersion: v1\nkind: A\nmetadata:\n  name: a   # trailing\nspec:\n  text: |\n    hello",
        "kind: A\nmetadata:\n  name: a\nspec: 1",
    )
    flow = replace_document(FILE, ("B", "b"), "kind: B\nmetadata:\n  name: b\n")
    assert "# b's own comment\nkind: B\nmetadata:\n  name: b\n...\n" in flow


def test_replace_appends_what_the_file_does_not_hold() -> None:
    assert replace_document(FILE, ("D", "d"), "kind: D\n").endswith("  name: c\n---\nkind: D\n")
    assert replace_document("# only a comment\n", ("D", "d"), "kind: D\n") == (
        "# only a comment\n---\nkind: D\n"
    )


@pytest.mark.parametrize(
    ("key", "gone"),
    [
        (("A", "a"), "apiVersion: v1"),
        (("B", "b"), "# b's own comment"),
        (("C", "c"), "name: c"),
    ],
)
def test_remove_takes_the_document_and_its_separator(key: tuple[str, str], gone: str) -> None:
    rest = remove_document(FILE, key)
    assert rest is not None and gone not in rest
    assert rest.startswith("# header: stays\n")
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(rest) if d]
    assert names == [n for n in ("a", "b", "c") if n != key[1]]


def test_removing_the_last_document_leaves_no_file() -> None:
    assert remove_document("# c\nkind: A\nmetadata: {name: a}\n", ("A", "a")) is None
    assert remove_document(FILE, ("Z", "z")) == FILE


def test_document_text_keeps_comments_and_drops_the_marker() -> None:
    assert document_text("# c\n---\nkind: A # why\n\n") == "# c\nkind: A # why"
    assert document_text('{"kind": "A"}') is None
