"""Bodies of the platform API that are not objects, shared by the server and its client so
the two cannot drift apart. Objects travel as the API server's JSON, untouched."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentops_services.api.runtime_api import RequestModel, ResponseModel, Text
from agentops_services.local.errors import FileProblem


class RunCreate(RequestModel):
    """An AgentRun to start now, as the console starts one."""

    agent: str = Field(min_length=1, max_length=253)
    """Name of the Agent that runs it."""
    prompt: Text
    """The prompt."""


class ObjectList(ResponseModel):
    """Every object of a kind and the store's resourceVersion to watch from."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    api_version: str = Field(alias="apiVersion")
    kind: str
    """`AgentList`, `AgentRunList`, ..."""
    metadata: dict[str, str]
    """`resourceVersion`: the store's version when listed."""
    items: list[dict[str, Any]]


class ProblemList(ResponseModel):
    """The resource folder's problems, by file and line."""

    folder: str
    """Absolute path of the resource folder; problem paths are relative to it."""
    problems: list[FileProblem]


class InvalidBody(ResponseModel):
    """422 answer to a resource that does not validate."""

    error: str
    field: str | None = None
    problems: list[FileProblem]


class Health(ResponseModel):
    status: str
    resource_version: str = Field(alias="resourceVersion")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Resync(BaseModel):
    """Data of the `resync` event that ends a watch that fell behind."""

    resource_version: str = Field(alias="resourceVersion")
    message: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
