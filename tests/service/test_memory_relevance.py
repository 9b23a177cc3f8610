"""Relevance: long natural-language prompts find the memory they are about (top 3).

Upstream AND-ed every word of the prompt, so a long prompt matched nothing and injection fell
back to recency; this set would score about 0 there.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from agentops_services.api.memory import ObservationCreate
from agentops_services.memory.store import MemoryStore
from tests.service.conftest import Clock

DATA = yaml.safe_load((Path(__file__).parent / "data" / "relevance.yaml").read_text())


async def test_expected_memory_ranks_in_the_top_three(store: MemoryStore, clock: Clock) -> None:
    assert len(DATA["memories"]) >= 50 and len(DATA["queries"]) >= 20
    ids = {}
    for memory in DATA["memories"]:
        clock.advance(minutes=1)  # distinct times, so recency cannot hide a ranking bug
        written = await store.add_observation(
            ObservationCreate(
                session_id="sre",
                type=memory["type"],
                title=memory["title"],
                content=memory["content"],
                project="platform",
            )
        )
        ids[written.id] = memory["key"]
    misses = []
    for query in DATA["queries"]:
        context = await store.context("Platform", None, query["text"], 3)
        found = [ids[o.id] for o in context.recent_observations if o.id]
        if query["expect"] not in found:
            misses.append((query["expect"], found))
    assert not misses, f"{len(misses)} of {len(DATA['queries'])} prompts missed: {misses}"
