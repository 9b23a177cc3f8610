"""An OpenAPI 3.1 document built from the same `Endpoint` declarations that serve the API."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, TypeAdapter

from agentops_services.httpapi.endpoints import Endpoint

_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_STATUS_TEXT = {
    400: "Malformed request (invalid JSON or path value)",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Validation failed",
    429: "Busy",
}


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema(self, kind: Any) -> dict[str, Any]:
        adapter = TypeAdapter(kind)
        schema = adapter.json_schema(ref_template=_REF, mode="serialization")
        self.schemas.update(schema.pop("$defs", {}))
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            self.schemas[kind.__name__] = schema
            return {"$ref": _REF.format(model=kind.__name__)}
        return schema


def openapi_document(
    title: str, version: str, endpoints: Iterable[Endpoint], description: str = ""
) -> dict[str, Any]:
    components = _Components()
    error = components.schema(_ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        path = _PARAM.sub(r"{\1}", endpoint.path)
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": _operation_id(endpoint),
        }
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if endpoint.path_types.get(name) is int else "string"},
            }
            for name in _PARAM.findall(endpoint.path)
        ]
        if endpoint.query is not None:
            query_schema = endpoint.query.model_json_schema(ref_template=_REF)
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                parameters.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": name in required,
                        "description": prop.pop("description", ""),
                        "schema": {k: v for k, v in prop.items() if k != "title"},
                    }
                )
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            body: dict[str, Any] = {
                "application/json": {"schema": components.schema(endpoint.body)}
            }
            if endpoint.raw_body:
                body["application/x-ndjson"] = {"schema": {"type": "string"}}
            operation["requestBody"] = {"required": True, "content": body}
        responses: dict[str, Any] = {}
        if endpoint.response is None:
            responses[str(204 if endpoint.status == 200 else endpoint.status)] = {
                "description": "Done"
            }
        else:
            content: dict[str, Any] = {
                "application/json": {"schema": components.schema(endpoint.response)}
            }
            if endpoint.text_media_type:
                content[endpoint.text_media_type] = {"schema": {"type": "string"}}
            responses[str(endpoint.status)] = {"description": "Success", "content": content}
        implied = {400} if parameters or endpoint.body else set()
        if endpoint.body is not None:
            implied |= {413, 422}
        if endpoint.query is not None:
            implied.add(422)
        for status in sorted(implied | set(endpoint.errors)):
            responses[str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": error}},
            }
        operation["responses"] = responses
        paths.setdefault(path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {"schemas": components.schemas},
    }


def _operation_id(endpoint: Endpoint) -> str:
    return endpoint.span_name or f"{endpoint.method.lower()}_{endpoint.path.strip('/')}"


class _ErrorBody(BaseModel):
    """Every error answer."""

    error: str
    field: str | None = None
