"""A model server on loopback that lists its models the way Ollama does: `GET /api/tags`
(Ollama's own API) and `GET /v1/models` (the OpenAI-compatible list Ollama, vLLM and
llama.cpp serve). With `api_key` set, `/v1/models` wants that bearer token, as a keyed
OpenAI-compatible server does. Every request is recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentops_services.httpapi.serving import serve_in_background

EMBEDDING = {"name": "nomic-embed-text:latest", "family": "nomic-bert"}


@dataclass
class FakeOllama:
    models: list[dict[str, str]] = field(default_factory=list)
    """name and family of each installed model, most recently modified first."""
    api_key: str | None = None
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """(path, Authorization header) of every request."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/api/tags", self._tags), Route("/v1/models", self._openai_models)]
        )

    def _record(self, request: Request) -> None:
        self.requests.append((request.url.path, request.headers.get("authorization")))

    async def _tags(self, request: Request) -> JSONResponse:
        self._record(request)
        return JSONResponse({"models": [_tag(m) for m in self.models]})

    async def _openai_models(self, request: Request) -> JSONResponse:
        self._record(request)
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, status_code=401)
        data = [
            {"id": m["name"], "object": "model", "created": 1735689600, "owned_by": "library"}
            for m in self.models
        ]
        return JSONResponse({"object": "list", "data": data})


def _tag(model: dict[str, str]) -> dict[str, Any]:
    """One entry of Ollama's /api/tags answer."""
    return {
        "name": model["name"],
        "model": model["name"],
        "modified_at": "2026-01-10T09:15:27.4467632+01:00",
        "size": 2019393189,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": model["family"],
            "families": [model["family"]],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


@asynccontextmanager
async def running(fake: FakeOllama) -> AsyncIterator[str]:
    """Serve `fake` on a free loopback port; yields its base URL."""
    async with serve_in_background(fake.app()) as server:
        yield server.url
