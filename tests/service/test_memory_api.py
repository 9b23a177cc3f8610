"""Every endpoint of the memory service over real HTTP: status codes, bodies, and the errors a
client can cause (always JSON naming the field, never a 500)."""

from __future__ import annotations

import json

import pytest

from tests.service.conftest import Clock, MemoryService, ObservationFactory


async def test_health_and_readiness(memory: MemoryService) -> None:
    for path in ("/health", "/healthz"):
        assert (await memory.client.get(path)).json() == {"status": "ok"}
    assert (await memory.client.get("/readyz")).json() == {"status": "ready"}


async def test_sessions(memory: MemoryService) -> None:
    created = await memory.client.post("/sessions", json={"id": "s1", "project": "Infra"})
    assert created.status_code == 201
    assert created.json() == {
        "id": "s1",
        "project": "infra",
        "started_at": "2026-04-09T10:00:00Z",
        "message_count": 0,
    }
    again = await memory.client.post("/sessions", json={"id": "s1", "project": "other"})
    assert (again.status_code, again.json()["project"]) == (201, "infra"), "idempotent by id"
    ended = await memory.client.post(
        "/sessions/s1/end", json={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert ended.json() == {
        "session_id": "s1",
        "summary": "Session: 1 messages (1 user, 0 assistant). Started with: hi",
        "message_count": 1,
    }
    assert (await memory.client.post("/sessions/s1/end", json={})).json()["message_count"] == 0
    recent = await memory.client.get("/sessions/recent", params={"project": "INFRA"})
    assert [s["id"] for s in recent.json()] == ["s1"]
    missing = await memory.client.post("/sessions/nope/end", json={})
    assert missing.status_code == 404
    assert missing.json() == {"error": "session 'nope' not found", "field": None}


async def test_observation_lifecycle(
    memory: MemoryService, observation: ObservationFactory
) -> None:
    created = await memory.client.post("/observations", json=observation(tags=["sqlite"]))
    assert (created.status_code, created.json()) == (
        201,
        {"id": 1, "action": "created", "revision_count": 1, "duplicate_count": 1},
    )
    dedup = await memory.client.post("/observations", json=observation())
    assert (dedup.status_code, dedup.json()["action"]) == (201, "deduplicated")
    got = (await memory.client.get("/observations/1")).json()
    assert (got["title"], got["tags"], got["duplicate_count"], got["project"]) == (
        "Use WAL",
        ["sqlite"],
        2,
        "infra",
    )
    patched = await memory.client.patch("/observations/1", json={"title": "Use WAL mode"})
    assert (patched.status_code, patched.json()["title"]) == (200, "Use WAL mode")
    recent = await memory.client.get(
        "/observations/recent", params={"project": "infra", "type": "decision"}
    )
    assert [o["id"] for o in recent.json()] == [1]
    deleted = await memory.client.delete("/observations/1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await memory.client.get("/observations/1")).status_code == 404
    assert (
        await memory.client.delete("/observations/1", params={"hard": "true"})
    ).status_code == 204
    assert (
        await memory.client.delete("/observations/1", params={"hard": "true"})
    ).status_code == 404


async def test_search_and_context(memory: MemoryService, observation: ObservationFactory) -> None:
    await memory.client.post(
        "/observations",
        json=observation(
            title="Payments 503", content="The payments API returns 503 when the pool is exhausted."
        ),
    )
    await memory.client.post(
        "/observations",
        json=observation(title="Pool", content="Connection pool size is 40.", topic_key="db/pool"),
    )
    hits = (
        await memory.client.get("/search", params={"q": "payments 503", "project": "infra"})
    ).json()
    assert hits[0]["title"] == "Payments 503"
    assert "<mark>" in hits[0]["snippet"]
    assert (await memory.client.get("/search", params={"q": "  "})).json() == []
    keyed = (await memory.client.get("/search", params={"q": "db/pool", "project": "infra"})).json()
    assert (keyed[0]["title"], keyed[0]["rank"]) == ("Pool", -1000)
    context = (
        await memory.client.get(
            "/context", params={"project": "INFRA", "query": "why does the payments API fail?"}
        )
    ).json()
    assert context["recent_observations"][0]["title"] == "Payments 503"
    assert context["recent_observations"][0]["method"] == "fts5_bm25"
    assert context["recent_sessions"] == []


async def test_timeline_stats_export(
    memory: MemoryService, observation: ObservationFactory, clock: Clock
) -> None:
    for i in range(3):
        clock.advance(seconds=1)
        await memory.client.post("/observations", json=observation(title=f"t{i}", content=f"c{i}"))
    timeline = (
        await memory.client.get("/timeline", params={"observation_id": 2, "before": 1, "after": 5})
    ).json()
    assert [e["id"] for e in timeline] == [1, 2, 3]
    assert (await memory.client.get("/timeline", params={"observation_id": 99})).status_code == 404
    assert (await memory.client.get("/stats")).json() == {
        "total_sessions": 1,
        "total_observations": 3,
        "projects": ["infra"],
    }
    exported = (await memory.client.get("/export")).json()
    assert len(exported["observations"]) == 3 and len(exported["sessions"]) == 1
    lines = (await memory.client.get("/export", params={"format": "jsonl"})).text.splitlines()
    assert [next(iter(json.loads(line))) for line in lines] == [
        "exported_at",
        "session",
        "observation",
        "observation",
        "observation",
    ]


async def test_import_json_and_json_lines(
    memory: MemoryService, observation: ObservationFactory
) -> None:
    await memory.client.post("/observations", json=observation())
    jsonl = (await memory.client.get("/export", params={"format": "jsonl"})).content
    imported = await memory.client.post(
        "/import", content=jsonl, headers={"content-type": "application/x-ndjson"}
    )
    assert imported.json() == {"imported_sessions": 0, "imported_observations": 1}
    exported = (await memory.client.get("/export")).content
    again = await memory.client.post(
        "/import", content=exported, headers={"content-type": "application/json"}
    )
    assert again.json() == {"imported_sessions": 0, "imported_observations": 2}
    assert (await memory.client.get("/stats")).json()["total_observations"] == 4


async def test_importing_a_live_topic_key_again_is_a_conflict_that_imports_nothing(
    memory: MemoryService, observation: ObservationFactory
) -> None:
    """A topic key names one live memory per project and scope; restoring an export over
    the memories it came from says which one is in the way, and stores nothing."""
    await memory.client.post("/observations", json=observation(title="A", content="one"))
    await memory.client.post(
        "/observations", json=observation(title="B", content="two", topic_key="db/wal")
    )
    exported = (await memory.client.get("/export")).content
    refused = await memory.client.post(
        "/import", content=exported, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 409, refused.text
    assert "topic key 'db/wal'" in refused.json()["error"]
    assert refused.json()["error"].count("nothing was imported") == 1
    assert (await memory.client.get("/stats")).json()["total_observations"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "field"),
    [
        ("POST", "/observations", b'{"session_id": "s1"', 400, "invalid JSON", None),
        ("POST", "/observations", b"{}", 422, "session_id: Field required", "session_id"),
        (
            "POST",
            "/observations",
            b'{"session_id":"s","type":"t","title":5,"content":"c","project":"p"}',
            422,
            "title: Input should be a valid string",
            "title",
        ),
        (
            "POST",
            "/observations",
            b'{"session_id":"s","type":"t","title":" ","content":"c","project":"p"}',
            422,
            "title: is required",
            "title",
        ),
        (
            "POST",
            "/observations",
            b'{"session_id":"s","type":"t","title":"x","content":"c","project":"p","supersedes":42}',
            422,
            "observation 42 not found",
            "supersedes",
        ),
        (
            "POST",
            "/observations",
            b'{"session_id":"s","type":"t","title":"x","content":"c","project":"p","extra":1}',
            422,
            "extra: Extra inputs are not permitted",
            "extra",
        ),
        ("POST", "/sessions", b'{"id": "", "project": "p"}', 422, "id: is required", "id"),
        ("POST", "/sessions", b'{"id": "\\ud800", "project": "p"}', 400, "invalid JSON", None),
        ("GET", "/observations/99999999999999999999999", b"", 400, "id is out of range", "id"),
        ("POST", "/sessions", b"[1,2]", 422, "Input should be an object", None),
        ("PATCH", "/observations/7", b'{"title": "x"}', 404, "observation 7 not found", None),
        ("PATCH", "/observations/abc", b'{"title": "x"}', 400, "id must be an integer", "id"),
        ("GET", "/observations/abc", b"", 400, "id must be an integer", "id"),
        ("GET", "/context", b"", 422, "project: Field required", "project"),
        (
            "GET",
            "/context?project=p&budget_tokens=lots",
            b"",
            422,
            "budget_tokens: Input should be a valid integer",
            "budget_tokens",
        ),
        ("GET", "/timeline", b"", 422, "observation_id: Field required", "observation_id"),
        ("POST", "/import", b'{"sessions": 5}', 422, "exported_at: Field required", "exported_at"),
    ],
)
async def test_bad_input_names_the_field(
    memory: MemoryService,
    method: str,
    path: str,
    body: bytes,
    status: int,
    error: str,
    field: str | None,
) -> None:
    response = await memory.client.request(
        method, path, content=body or None, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert error in response.json()["error"]
    assert response.json()["field"] == field


async def test_import_refuses_text_no_database_can_store(memory: MemoryService) -> None:
    line = b'{"session": {"id": "\\ud800", "project": "p", "started_at": "2026-01-01T00:00:00Z"}}\n'
    response = await memory.client.post(
        "/import", content=line, headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 422
    assert (
        response.json()["error"] == "sessions.0.id: must be valid Unicode text (no lone surrogates)"
    )


async def test_oversize_body_is_413_and_stores_nothing(
    memory: MemoryService, observation: ObservationFactory
) -> None:
    big = json.dumps(observation(content="x" * (2 * 1024 * 1024))).encode()
    response = await memory.client.post("/observations", content=big)
    assert response.status_code == 413
    assert response.json()["error"] == "request body larger than 1048576 bytes"
    assert (await memory.client.get("/stats")).json()["total_observations"] == 0


async def test_limits_follow_upstream_rules(
    memory: MemoryService, observation: ObservationFactory
) -> None:
    for i in range(25):
        await memory.client.post("/observations", json=observation(title=f"t{i}", content=f"c{i}"))
    for params, expected in (
        ({}, 20),
        ({"limit": "abc"}, 20),
        ({"limit": "-3"}, 20),
        ({"limit": "0"}, 20),
        ({"limit": "7"}, 7),
        ({"limit": "5000"}, 25),
    ):
        response = await memory.client.get(
            "/observations/recent", params={"project": "infra", **params}
        )
        assert len(response.json()) == expected, params


async def test_openapi_describes_every_endpoint(memory: MemoryService) -> None:
    document = (await memory.client.get("/openapi.json")).json()
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations >= {
        ("POST", "/sessions"), ("POST", "/sessions/{id}/end"), ("GET", "/sessions/recent"),
        ("POST", "/observations"), ("GET", "/observations/recent"), ("GET", "/observations/{id}"),
        ("PATCH", "/observations/{id}"), ("DELETE", "/observations/{id}"), ("GET", "/search"),
        ("GET", "/context"), ("GET", "/timeline"), ("GET", "/stats"), ("GET", "/export"),
        ("POST", "/import"), ("GET", "/healthz"), ("GET", "/readyz"),
    }  # fmt: skip
    create = document["paths"]["/observations"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ObservationCreate"
    }
    assert set(create["responses"]) == {"201", "400", "413", "422"}
    assert "ObservationCreate" in document["components"]["schemas"]
