"""The memory service's REST API (upstream paths and JSON), declared as typed endpoints."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.responses import Response

from agentops_services.api.memory import (
    ContextResponse,
    ExportData,
    ImportResult,
    Observation,
    ObservationCreate,
    ObservationPatch,
    ObservationWriteResult,
    RecordId,
    SearchHit,
    Session,
    SessionCreate,
    SessionEnd,
    SessionEndResult,
    Stats,
    TimelineEntry,
)
from agentops_services.httpapi.endpoints import ApiError, Call, Endpoint
from agentops_services.memory.store import ConflictError, MemoryStore, NotFoundError

MAX_LIMIT = 1000
MAX_IMPORT_BYTES = 64 * 1024 * 1024


def _lenient_limit(default: int) -> BeforeValidator:
    """Upstream's rule for limit-like parameters: missing, unparsable, zero or negative means
    the default; more than 1000 means 1000."""

    def parse(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            return default
        return default if number <= 0 else min(number, MAX_LIMIT)

    return BeforeValidator(parse)


Limit3 = Annotated[int, _lenient_limit(3), Field(description="default 3, at most 1000")]
Limit5 = Annotated[int, _lenient_limit(5), Field(description="default 5, at most 1000")]
Limit10 = Annotated[int, _lenient_limit(10), Field(description="default 10, at most 1000")]
Limit20 = Annotated[int, _lenient_limit(20), Field(description="default 20, at most 1000")]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProjectFilter(_Query):
    project: str | None = Field(None, description="project (case-insensitive)")


class RecentSessionsQuery(ProjectFilter):
    limit: Limit5 = 5


class RecentObservationsQuery(ProjectFilter):
    type: str | None = None
    scope: str | None = None
    limit: Limit20 = 20


class SearchQuery(ProjectFilter):
    q: str = Field("", description="search text; any term may match, best matches first")
    type: str | None = None
    scope: str | None = None
    limit: Limit10 = 10


class ContextQuery(_Query):
    project: str = Field(description="project (case-insensitive)")
    scope: str | None = None
    query: str | None = Field(None, description="the prompt; relevant memories first")
    limit: Limit5 = 5
    budget_tokens: int | None = Field(
        None, ge=1, description="trim the context to this many tokens"
    )


class TimelineQuery(_Query):
    observation_id: RecordId
    before: Limit3 = 3
    after: Limit3 = 3


class DeleteQuery(_Query):
    hard: bool = Field(False, description="delete the row instead of marking it deleted")


class ExportQuery(ProjectFilter):
    format: Literal["json", "jsonl"] = Field("json", description="json (upstream) or JSON lines")


class Health(BaseModel):
    status: str


class MemoryApi:
    """The handlers, bound to one store."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def health(self, call: Call) -> Health:
        return Health(status="ok")

    async def ready(self, call: Call) -> Health:
        await self.store.stats(project="\x00")  # a real query through the reader pool
        return Health(status="ready")

    async def create_session(self, call: Call) -> Session:
        body: SessionCreate = call.body
        call.span.set_attributes(
            {"memory.session.id": body.id, "memory.project": body.project.lower()}
        )
        return await self.store.create_session(body.id, body.project)

    async def end_session(self, call: Call) -> SessionEndResult:
        body: SessionEnd = call.body
        messages = body.messages or []
        call.span.set_attributes(
            {"memory.session.id": call.path["id"], "memory.session.message_count": len(messages)}
        )
        result: SessionEndResult = await _found(self.store.end_session(call.path["id"], messages))
        return result

    async def recent_sessions(self, call: Call) -> list[Session]:
        query: RecentSessionsQuery = call.query
        return await self.store.recent_sessions(query.project, query.limit)

    async def add_observation(self, call: Call) -> ObservationWriteResult:
        body: ObservationCreate = call.body
        call.span.set_attributes(
            {"memory.project": body.project.lower(), "memory.observation.type": body.type}
        )
        result: ObservationWriteResult = await _found(self.store.add_observation(body))
        call.span.set_attributes(
            {"memory.observation.action": result.action, "memory.observation.id": result.id}
        )
        return result

    async def recent_observations(self, call: Call) -> list[Observation]:
        query: RecentObservationsQuery = call.query
        return await self.store.recent_observations(
            query.project, query.type, query.scope, query.limit
        )

    async def get_observation(self, call: Call) -> Observation:
        found: Observation = await _found(self.store.get_observation(call.path["id"]))
        return found

    async def update_observation(self, call: Call) -> Observation:
        updated: Observation = await _found(
            self.store.update_observation(call.path["id"], call.body)
        )
        return updated

    async def delete_observation(self, call: Call) -> None:
        query: DeleteQuery = call.query
        call.span.set_attribute("memory.observation.hard_delete", query.hard)
        await _found(self.store.delete_observation(call.path["id"], query.hard))

    async def search(self, call: Call) -> list[SearchHit]:
        query: SearchQuery = call.query
        call.span.set_attribute("memory.search.query", query.q[:200])
        if not query.q.strip():
            return []
        hits = await self.store.search(query.q, query.project, query.type, query.scope, query.limit)
        call.span.set_attribute("memory.search.result_count", len(hits))
        return hits

    async def context(self, call: Call) -> ContextResponse:
        query: ContextQuery = call.query
        call.span.set_attributes(
            {
                "memory.project": query.project.lower(),
                "memory.context.query_used": bool(query.query),
                "gen_ai.operation.name": "retrieval",
                "gen_ai.retrieval.query.text": (query.query or "")[:500],
            }
        )
        result = await self.store.context(
            query.project, query.scope, query.query, query.limit, query.budget_tokens
        )
        count = len(result.recent_observations)
        call.span.set_attributes(
            {"memory.context.result_count": count, "gen_ai.retrieval.document_count": count}
        )
        return result

    async def timeline(self, call: Call) -> list[TimelineEntry]:
        query: TimelineQuery = call.query
        entries: list[TimelineEntry] = await _found(
            self.store.timeline(query.observation_id, query.before, query.after)
        )
        return entries

    async def stats(self, call: Call) -> Stats:
        query: ProjectFilter = call.query
        return await self.store.stats(query.project)

    async def export(self, call: Call) -> ExportData | Response:
        query: ExportQuery = call.query
        data = await self.store.export(query.project)
        if query.format == "json":
            return data
        lines = [json.dumps({"exported_at": data.exported_at})]
        lines += [json.dumps({"session": s.to_wire()}) for s in data.sessions]
        lines += [json.dumps({"observation": o.to_wire()}) for o in data.observations]
        return Response("\n".join(lines) + "\n", media_type="application/x-ndjson")

    async def import_(self, call: Call) -> ImportResult:
        content_type = call.request.headers.get("content-type", "")
        data = _parse_import(call.body, jsonl="ndjson" in content_type or "jsonl" in content_type)
        try:
            result = await self.store.import_data(data)
        except ConflictError as exc:
            raise ApiError(409, str(exc), exc.field) from None
        call.span.set_attributes(
            {
                "memory.import.sessions": result.imported_sessions,
                "memory.import.observations": result.imported_observations,
            }
        )
        return result


def memory_endpoints(store: MemoryStore) -> list[Endpoint]:
    """Every endpoint of the API, bound to `store`."""
    api = MemoryApi(store)
    ident = {"id": int}
    return [
        Endpoint("GET", "/health", api.health, "Liveness (upstream path)", response=Health),
        Endpoint("GET", "/healthz", api.health, "Liveness", response=Health),
        Endpoint("GET", "/readyz", api.ready, "Readiness: the database answers", response=Health),
        Endpoint("POST", "/sessions", api.create_session, "Start a session (idempotent by id)",
                 "memory.create_session", body=SessionCreate, response=Session, status=201),
        Endpoint("POST", "/sessions/{id}/end", api.end_session, "End a session and summarise it",
                 "memory.end_session", body=SessionEnd, response=SessionEndResult,
                 errors=(404,)),
        Endpoint("GET", "/sessions/recent", api.recent_sessions, "Most recent sessions",
                 "memory.recent_sessions", query=RecentSessionsQuery, response=list[Session]),
        Endpoint("POST", "/observations", api.add_observation,
                 "Save an observation (topic_key upsert, dedup within the window, or insert)",
                 "memory.add_observation", body=ObservationCreate,
                 response=ObservationWriteResult, status=201),
        Endpoint("GET", "/observations/recent", api.recent_observations,
                 "Most recent observations", "memory.recent_observations",
                 query=RecentObservationsQuery, response=list[Observation]),
        Endpoint("GET", "/observations/{id}", api.get_observation, "One observation",
                 "memory.get_observation", response=Observation, errors=(404,), path_types=ident),
        Endpoint("PATCH", "/observations/{id}", api.update_observation, "Change an observation",
                 "memory.update_observation", body=ObservationPatch, response=Observation,
                 errors=(404,), path_types=ident),
        Endpoint("DELETE", "/observations/{id}", api.delete_observation,
                 "Delete an observation (soft unless hard=true)", "memory.delete_observation",
                 query=DeleteQuery, errors=(404,), path_types=ident),
        Endpoint("GET", "/search", api.search, "Full-text search, best matches first",
                 "memory.search", query=SearchQuery, response=list[SearchHit]),
        Endpoint("GET", "/context", api.context, "What to inject into an agent's turn",
                 "memory.fetch_context", query=ContextQuery, response=ContextResponse),
        Endpoint("GET", "/timeline", api.timeline, "Observations around one, in time order",
                 "memory.timeline", query=TimelineQuery, response=list[TimelineEntry],
                 errors=(404,)),
        Endpoint("GET", "/stats", api.stats, "Counts and projects", "memory.stats",
                 query=ProjectFilter, response=Stats),
        Endpoint("GET", "/export", api.export, "Everything not deleted, as JSON or JSON lines",
                 "memory.export", query=ExportQuery, response=ExportData,
                 text_media_type="application/x-ndjson"),
        Endpoint("POST", "/import", api.import_, "Load an export (JSON, or JSON lines with "
                 "Content-Type application/x-ndjson); all or nothing", "memory.import",
                 body=ExportData, raw_body=True, response=ImportResult, max_body=MAX_IMPORT_BYTES,
                 errors=(409,)),
    ]  # fmt: skip


async def _found(operation: Any) -> Any:
    try:
        return await operation
    except NotFoundError as exc:
        raise ApiError(422 if exc.field == "supersedes" else 404, str(exc), exc.field) from None


def _parse_import(raw: bytes, jsonl: bool) -> ExportData:
    try:
        if not jsonl:
            return ExportData.model_validate_json(raw)
        sessions: list[Any] = []
        observations: list[Any] = []
        exported_at = ""
        for number, line in enumerate(raw.decode().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ApiError(
                    400, f"line {number}: invalid JSON: {exc}", f"line {number}"
                ) from None
            if not isinstance(record, dict):
                raise ApiError(422, f"line {number}: expected an object", f"line {number}")
            if "session" in record:
                sessions.append(record["session"])
            elif "observation" in record:
                observations.append(record["observation"])
            elif "exported_at" in record:
                exported_at = str(record["exported_at"])
            else:
                raise ApiError(
                    422,
                    f"line {number}: expected session, observation or exported_at",
                    f"line {number}",
                )
        return ExportData.model_validate(
            {"exported_at": exported_at, "sessions": sessions, "observations": observations}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "json_invalid":
            raise ApiError(400, f"invalid JSON: {first['msg']}") from None
        raise ApiError(422, f"{where}: {first['msg']}", where) from None
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"invalid UTF-8: {exc}") from None
