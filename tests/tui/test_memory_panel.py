"""The memory panel's service: highlights, an Agent's project, the edited document (read back
with the line of each problem, in a real $EDITOR too), export files checked line by line, and
the client on a real memory service (loopback, SQLite)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentops_services.api.memory import Observation
from agentops_services.httpapi.serving import serve_in_background
from agentops_services.memory.server import create_app
from agentops_services.memory.text import query_terms
from agentops_services.runtime.memory_client import MemoryClient
from agentops_tui.services.editing import Cancelled
from agentops_tui.services.external_editor import editor_command, run_editor
from agentops_tui.services.memory_panel import (
    Draft,
    Highlighted,
    ImportFileError,
    MemoryPanelClient,
    MemoryScope,
    MemoryServiceError,
    Rejected,
    agent_scope,
    check_import_file,
    count_records,
    edit_document,
    edit_until_read,
    from_marks,
    highlight,
    new_document,
    window,
)
from tests.tui.memory_sample import OBSERVATIONS, memory_service, sample_export


def marked(found: Highlighted) -> list[str]:
    return [found.text[start:end] for start, end in found.spans]


# --- highlights ------------------------------------------------------------------------------


def test_the_services_marks_become_spans_on_one_line() -> None:
    found = from_marks("the <mark>pool</mark> size\nto <mark>20</mark>")
    assert found.text == "the pool size to 20"
    assert marked(found) == ["pool", "20"]


def test_query_terms_mark_their_words_and_forms_but_not_stopwords() -> None:
    found = highlight("The pools were pooled; a pool is not a poll", query_terms("the pool"))
    assert marked(found) == ["pools", "pooled", "pool"]
    assert marked(highlight("db dbs", ["db"])) == ["db"], "two letters match only themselves"


def test_a_long_text_is_cut_around_its_first_match() -> None:
    text = "x" * 100 + " needle " + "y" * 100
    cut = window(highlight(text, ["needle"]), 40)
    assert len(cut.text) == 40 and cut.text.startswith("…") and cut.text.endswith("…")
    assert marked(cut) == ["needle"]
    assert window(highlight("short needle", ["needle"]), 40) == highlight(
        "short needle", ["needle"]
    )
    tail = window(highlight("a" * 60 + " end", ["end"]), 20)
    assert len(tail.text) == 20 and tail.text.endswith("end") and marked(tail) == ["end"]
    head = window(Highlighted("b" * 60), 20)
    assert head.text == "b" * 19 + "…" and head.spans == ()


# --- an Agent's memory -----------------------------------------------------------------------


def test_an_agents_project_is_its_memory_project_else_its_name_lower_cased() -> None:
    named = {"metadata": {"name": "Reviewer"}, "spec": {"memory": {"serverRef": "mem"}}}
    assert agent_scope(named) == MemoryScope(service="mem", agent="Reviewer", project="reviewer")
    own = {"metadata": {"name": "reviewer"},
           "spec": {"memory": {"serverRef": "mem", "project": "Infra", "contextLimit": 0,
                               "autoSearch": False}}}  # fmt: skip
    scope = agent_scope(own)
    assert scope is not None and scope.project == "infra"
    assert (scope.context_limit, scope.injects_context) == (0, False)
    assert agent_scope({"metadata": {"name": "plain"}, "spec": {}}) is None


# --- the edited document ---------------------------------------------------------------------

STORED = Observation.model_validate(
    {**OBSERVATIONS[0], "content": OBSERVATIONS[0]["content"] + "\n"}
)


def test_an_edit_reads_back_only_what_changed() -> None:
    document = edit_document(STORED)
    assert document.text.startswith("---\n#")
    edited = document.text.replace("title: Use WAL journal mode", "title: Use WAL, always")
    draft = document.review(document.text, edited)
    assert isinstance(draft, Draft) and draft.title == "Use WAL, always"
    assert draft.tags == ("sqlite", "storage") and draft.topic_key == "db/journal"
    assert document.changes(draft) == {"title": "Use WAL, always"}
    more = edited.replace("- storage\n", "") + "More text.\n"
    draft = document.review(document.text, more)
    assert isinstance(draft, Draft)
    assert set(document.changes(draft)) == {"title", "tags", "content"}
    assert draft.content.endswith("nightly import.\nMore text.")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda text: text, "nothing was changed"),
        (lambda text: "  \n", "the text was emptied"),
        (lambda text: text.replace("\n---\n", "\n# a comment\n---\n", 1), "nothing was changed"),
    ],
    ids=["unchanged", "emptied", "same-fields"],
)
def test_an_edit_that_changes_nothing_cancels(edit: object, reason: str) -> None:
    document = edit_document(STORED)
    outcome = document.review(document.text, edit(document.text))  # type: ignore[operator]
    assert outcome == Cancelled(reason)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("title: Use WAL journal mode", "title: a: b"), "line 6: mapping values are not allowed"),
        (("title: Use WAL journal mode", "title: ''"), "line 6: title: is required"),
        (("type: decision", "type: " + "x" * 51), "line 5: type: must be at most 50 bytes"),
        (("type: decision", "kind: decision"), "line 5: unknown field kind: use type"),
        (("tags:\n- sqlite", "tags:\n- 7"), "line 8: tags.0: Input should be a valid string"),
        (("- storage\n---\n", "- storage\n"), "no --- line closes the fields"),
    ],
    ids=["yaml", "blank-title", "long-type", "unknown-field", "tag-type", "unclosed"],
)
def test_a_bad_edit_reopens_with_the_problem_and_its_line_on_top(
    change: tuple[str, str], problem: str
) -> None:
    """Line numbers are those of the reopened text (the `#!` line included)."""
    document = edit_document(STORED)
    edited = document.text.replace(*change)
    outcome = document.review(document.text, edited)
    assert isinstance(outcome, Rejected), outcome
    first, _, rest = outcome.reopen_text.partition("\n")
    assert first.startswith("#! ") and problem in first and rest == edited
    if problem.startswith("line "):
        line = int(problem.split()[1].rstrip(":"))
        assert outcome.reopen_text.splitlines()[line - 1].startswith(change[1].split("\n")[-1])


def test_a_new_memory_needs_a_title_text_and_project() -> None:
    document = new_document(None, "bugfix")
    assert "type: bugfix" in document.text
    nothing = document.review(document.text, document.text.replace("title: ''", "title: Oops"))
    assert isinstance(nothing, Rejected) and "content: is required" in nothing.message
    text = document.text.replace("title: ''", "title: Oops") + "It broke.\n"
    missing = document.review(document.text, text)
    assert isinstance(missing, Rejected) and "project: is required" in missing.message
    draft = document.review(document.text, text.replace("project: ''", "project: infra"))
    assert draft == Draft("bugfix", "Oops", "It broke.", project="infra")


def test_the_editor_loop_reopens_until_the_text_reads_or_is_left_as_shown() -> None:
    document = new_document("infra", None)
    seen: list[str] = []
    answers = iter([
        "---\ntitle: x\n",  # unclosed
        document.text.replace("title: ''", "title: Fixed") + "Body.\n",
    ])  # fmt: skip

    def editor(text: str) -> str:
        seen.append(text)
        return next(answers)

    outcome = edit_until_read(document, document.text, editor)
    assert isinstance(outcome, Draft) and outcome.title == "Fixed"
    assert seen[1].startswith("#! line ") and "no --- line closes" in seen[1]
    gave_up = edit_until_read(document, document.text, lambda text: "---\nbroken")
    assert gave_up == Cancelled("nothing was changed"), "the same broken text twice gives up"


@pytest.fixture
def editor_script(tmp_path: Path) -> Path:
    """A real editor: the first time it breaks the front matter, once it sees the problem on
    top it writes a good title (as a person fixing their mistake would)."""
    script = tmp_path / "editor.sh"
    script.write_text(
        "#!/bin/sh\n"
        'if grep -q "^#!" "$1"; then\n'
        '  sed -i -e "/^#!/d" -e "s/^title: .*/title: Edited in the editor/" "$1"\n'
        "else\n"
        '  sed -i "s/^title: .*/title: a: b/" "$1"\n'
        "fi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_editing_in_a_real_editor_goes_round_until_the_memory_reads(editor_script: Path) -> None:
    document = edit_document(STORED)
    command = editor_command({"EDITOR": str(editor_script)})
    calls: list[str] = []

    def edit(text: str) -> str:
        calls.append(text)
        return run_editor(text, command, "memory-1", ".md")

    outcome = edit_until_read(document, document.text, edit)
    assert isinstance(outcome, Draft) and outcome.title == "Edited in the editor"
    assert len(calls) == 2 and calls[1].startswith("#! line 6: mapping values are not allowed")
    assert document.changes(outcome) == {"title": "Edited in the editor"}


# --- export files ----------------------------------------------------------------------------


def test_an_export_file_is_counted_and_a_bad_line_named(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(sample_export() + b"\n")
    assert check_import_file(good).observations == len(OBSERVATIONS)
    lines = sample_export().decode().splitlines()
    cases = {
        "not JSON": "{",
        "observation.title: Field required": json.dumps(
            {"observation": {k: v for k, v in OBSERVATIONS[0].items() if k != "title"}}
        ),
        "unknown record 'note'": json.dumps({"note": {}}),
        "expected one of": "[1, 2]",
        "exported_at: Input should be a valid string": json.dumps({"exported_at": 5}),
    }
    for said, line in cases.items():
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join([*lines[:3], line, *lines[3:]]) + "\n")
        with pytest.raises(ImportFileError, match=f"^line 4: {said}") as caught:
            check_import_file(bad)
        assert caught.value.line == 4
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"exported_at": "now"}\n\n')
    with pytest.raises(ImportFileError, match="holds no sessions and no memories"):
        check_import_file(empty)
    with pytest.raises(ImportFileError, match="larger than 0 MiB"):
        count_records(good, max_bytes=10)
    with pytest.raises(ImportFileError, match="cannot read"):
        check_import_file(tmp_path / "missing.jsonl")


# --- the client on a real memory service -----------------------------------------------------


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[MemoryPanelClient]:
    async with (
        memory_service(tmp_path / "memory.db") as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield MemoryPanelClient(http, "team-a")


async def test_search_marks_bm25_matches_and_filters(client: MemoryPanelClient) -> None:
    found = await client.search("pool import", project="reviewer", type_=None)
    assert [f.id for f in found][:2] == [2, 1]
    assert {"pool", "import"} <= {w.lower() for w in marked(found[0].excerpt)}
    assert marked(found[0].title) == ["Pool"]
    assert [f.id for f in await client.search("", project=None, type_="config")] == [4]
    assert [f.id for f in await client.search("", project="billing", type_=None)] == [4]
    topic = await client.search("db/journal", project="reviewer", type_=None)
    assert topic[0].id == 1 and topic[0].topic_key == "db/journal"


async def test_writes_and_deletes(client: MemoryPanelClient) -> None:
    written = await client.create(Draft("bugfix", "Flaky DNS", "Retry lookups.", project="Infra"))
    assert written.action == "created"
    stored = await client.get(written.id)
    assert (stored.project, stored.session_id) == ("infra", "console-team-a-Infra")
    changed = await client.update(written.id, {"title": "DNS flakes"})
    assert changed.title == "DNS flakes" and changed.content == "Retry lookups."
    await client.delete(written.id, hard=False)  # 204: not an error
    with pytest.raises(MemoryServiceError, match=r"not found \(HTTP 404\)"):
        await client.get(written.id)
    await client.delete(1, hard=True)
    assert 1 not in [f.id for f in await client.search("", project="reviewer", type_=None)]


async def test_the_context_preview_is_what_the_runtime_injects(
    client: MemoryPanelClient,
) -> None:
    preview = await client.context("reviewer", "pool", 5)
    runtime = MemoryClient(str(client.http.base_url), "reviewer", "preview")
    try:
        assert preview.block == await runtime.context("pool", 5)
    finally:
        await runtime.aclose()
    assert preview.block.startswith("<memory:sessions>\n- Session: 6 messages")
    assert preview.observations[0].title == "Pool exhaustion under load"
    assert preview.sessions == 1 and preview.tokens > 0
    sessions = await client.sessions("reviewer")
    assert [s.id for s in sessions] == ["reviewer-s2", "reviewer-s1"]
    assert await client.projects() == ["billing", "reviewer"]


async def test_export_then_import_round_trips(client: MemoryPanelClient, tmp_path: Path) -> None:
    """One project's memories move to another memory service whole."""
    path = tmp_path / "reviewer.jsonl"
    counts = await client.export(path, "reviewer")
    assert (counts.sessions, counts.observations) == (2, 3)
    assert not [n for n in await asyncio.to_thread(os.listdir, tmp_path) if n.endswith(".part")]
    assert check_import_file(path) == counts
    async with (
        serve_in_background(create_app(tmp_path / "other.db")) as other,
        httpx.AsyncClient(base_url=other.url) as http,
    ):
        target = MemoryPanelClient(http, "team-b")
        result = await target.import_file(path)
        assert (result.imported_sessions, result.imported_observations) == (2, 3)
        moved = await target.search("", project="reviewer", type_=None)
    assert sorted(f.title.text for f in moved) == sorted(o["title"] for o in OBSERVATIONS[:3])


async def test_failures_say_what_happened() -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:1") as http:
        with pytest.raises(MemoryServiceError, match="cannot reach the memory service"):
            await MemoryPanelClient(http, "ns").projects()
