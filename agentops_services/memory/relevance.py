"""Which of a prompt's terms to search by, within a fixed amount of work.

FTS5 scores every row that any OR'ed term matches, about 2 µs a row here, so a long prompt of
common words would score most of the database to rank by its few telling words, while BM25
gives a term that many memories contain almost no weight anyway. A query therefore spends a
budget of postings (rows matched): it takes the prompt's terms rarest first (highest IDF, the
ones BM25 ranks by) while their document frequencies fit the budget, the way search engines
prune low-IDF terms. When even the rarest term is common, it is searched among the newest
memories only (FTS5 seeks by rowid), which bounds the work and prefers recent knowledge.
Document frequencies are counted up to the budget and cached for a while. (Restricting the
match to a project's name token in the index itself was measured and rejected: bm25() then also
walks that token's whole posting list to weigh it, which costs more than the lookups it saves.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from agentops_services.memory.text import fts_match

SEARCH_COLUMNS = ("title", "content", "topic_key")
POSTINGS_BUDGET = 800
RECENT_WINDOW = 4 * POSTINGS_BUDGET
"""Rows searched, newest first, when every term is common."""
CACHE_SECONDS = 600.0
CACHE_TERMS = 50_000


@dataclass(frozen=True)
class SearchPlan:
    """An FTS5 MATCH expression and the lowest rowid worth searching."""

    match: str
    min_rowid: int = 0


class TermStatistics:
    """Document frequencies of terms, cached for a while (shared by the reader threads)."""

    def __init__(self, budget: int = POSTINGS_BUDGET) -> None:
        self.budget = budget
        self._lock = threading.Lock()
        self._frequencies: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def plan(self, db: sqlite3.Connection, terms: Sequence[str]) -> SearchPlan | None:
        """How to search for `terms`, or None when none of them occurs anywhere."""
        counted = sorted((self._frequency(db, term), term) for term in terms)
        present = [(count, term) for count, term in counted if count > 0]
        if not present:
            return None
        chosen: list[str] = []
        spent = 0
        for count, term in present:
            if spent + count > self.budget:
                break
            chosen.append(term)
            spent += count
        if chosen:
            return SearchPlan(fts_match(chosen, SEARCH_COLUMNS))
        newest = db.execute("SELECT coalesce(max(rowid), 0) FROM observations").fetchone()[0]
        return SearchPlan(fts_match([present[0][1]], SEARCH_COLUMNS), newest - RECENT_WINDOW)

    def _frequency(self, db: sqlite3.Connection, term: str) -> int:
        """Rows containing `term`, counted up to just past the budget."""
        key = term
        now = time.monotonic()
        with self._lock:
            cached = self._frequencies.get(key)
            if cached and cached[1] > now:
                self._frequencies.move_to_end(key)
                return cached[0]
        count: int = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM observations_fts WHERE observations_fts MATCH ?"
            " LIMIT ?)",
            (fts_match([term], SEARCH_COLUMNS), self.budget + 1),
        ).fetchone()[0]
        if count:  # an absent term is not cached: the next memory may bring it
            with self._lock:
                self._frequencies[key] = (count, now + CACHE_SECONDS)
                self._frequencies.move_to_end(key)
                while len(self._frequencies) > CACHE_TERMS:
                    self._frequencies.popitem(last=False)
        return count
