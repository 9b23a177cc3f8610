"""Generic JSON calls on any resource type over kubernetes-asyncio's authenticated ApiClient.

The generated per-kind classes deserialize into models the operator does not use; it works on
plain dicts (what server-side apply sends and what informers cache). Every request has a
timeout, and every request is counted per verb, so the benchmark can prove that an idle operator
makes none.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from agentops_services.kube.resources import BY_KIND, ResourceType

REQUEST_TIMEOUT = 30.0
WARNINGS_KEPT = 100
WATCH_SLACK = 30.0
"""Extra seconds a watch request may stay open past its server-side timeoutSeconds."""
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

Object = dict[str, Any]


class KubeError(Exception):
    """A failed request: the HTTP status and the API server's own message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def forbidden(self) -> bool:
        return self.status == 403

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def gone(self) -> bool:
        return self.status == 410


def _error(status: int, body: bytes | str) -> KubeError:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    reason = str(document.get("reason") or "")
    message = str(document.get("message") or (body[:300] if body else f"HTTP {status}"))
    return KubeError(status, reason, message)


def type_of(manifest: Mapping[str, Any]) -> ResourceType:
    """The resource type of a built manifest, from its kind."""
    return BY_KIND[manifest["kind"]]


class Kube:
    """One API server connection's generic verbs."""

    def __init__(self, api: client.ApiClient, request_timeout: float = REQUEST_TIMEOUT) -> None:
        self.api = api
        self.request_timeout = request_timeout
        self.requests: Counter[str] = Counter()
        """Requests made, by verb (get, list, watch, apply, patch, create, delete)."""
        self.warnings: deque[str] = deque(maxlen=WARNINGS_KEPT)
        """The API server's Warning headers (deprecated fields, PodSecurity `warn`), newest
        last; only the latest are kept."""

    async def _call(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        self.requests[verb] += 1
        response: aiohttp.ClientResponse = await self.api.call_api(
            path,
            method,
            query_params=[(k, v) for k, v in (query or {}).items() if v is not None],
            header_params={"Accept": JSON, "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=timeout or self.request_timeout,
        )
        if response.status >= 300:
            raw = await response.read()
            response.release()
            raise _error(response.status, raw)
        self.warnings.extend(response.headers.getall("Warning", ()))
        return response

    async def _json(self, verb: str, method: str, path: str, **options: Any) -> Object:
        response = await self._call(verb, method, path, **options)
        try:
            document: Object = await response.json(content_type=None)
        finally:
            response.release()
        return document

    async def get(self, kind: ResourceType, namespace: str | None, name: str) -> Object | None:
        """The object, or None when it does not exist."""
        try:
            return await self._json("get", "GET", kind.path(namespace, name))
        except KubeError as exc:
            if exc.not_found:
                return None
            raise

    async def list(
        self,
        kind: ResourceType,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Object:
        """The list response (items and metadata.resourceVersion)."""
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        return await self._json("list", "GET", kind.path(namespace), query=query)

    async def watch(
        self,
        kind: ResourceType,
        namespace: str | None,
        resource_version: str,
        timeout_seconds: int,
        label_selector: str | None = None,
    ) -> AsyncIterator[Object]:
        """Watch events ({type, object}) from `resource_version` until the server ends the
        watch after `timeout_seconds`. An ERROR event is raised as KubeError (410: relist)."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true",
            "labelSelector": label_selector,
        }
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.request_timeout, sock_read=timeout_seconds + WATCH_SLACK
        )
        response = await self._call(
            "watch", "GET", kind.path(namespace), query=query, timeout=timeout
        )
        try:
            async for line in _lines(response):
                event: Object = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise KubeError(
                        int(status.get("code") or 500),
                        str(status.get("reason") or ""),
                        str(status.get("message") or "watch error"),
                    )
                yield event
        finally:
            response.release()

    async def create(
        self,
        kind: ResourceType,
        namespace: str | None,
        body: Object,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> Object:
        query = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}
        return await self._json("create", "POST", kind.path(namespace), body=body, query=query)

    async def apply(
        self, manifest: Object, field_manager: str, *, dry_run: bool = False, force: bool = True
    ) -> Object:
        """Server-side apply of a whole manifest (its kind says where it goes)."""
        kind = type_of(manifest)
        metadata = manifest["metadata"]
        query = {
            "fieldManager": field_manager,
            "force": "true" if force else None,
            "dryRun": "All" if dry_run else None,
        }
        path = kind.path(metadata.get("namespace"), metadata["name"])
        return await self._json(
            "apply", "PATCH", path, body=manifest, query=query, content_type=APPLY_PATCH
        )

    async def patch(
        self,
        kind: ResourceType,
        namespace: str | None,
        name: str,
        patch: Object,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> Object:
        """A JSON merge patch (the status subresource with subresource="status")."""
        return await self._json(
            "patch",
            "PATCH",
            kind.path(namespace, name, subresource),
            body=patch,
            query={"fieldManager": field_manager},
            content_type=MERGE_PATCH,
        )

    async def replace(self, kind: ResourceType, body: Object) -> Object:
        """PUT the whole object: fails with 409 when its resourceVersion is stale."""
        metadata = body["metadata"]
        path = kind.path(metadata.get("namespace"), metadata["name"])
        return await self._json("replace", "PUT", path, body=body)

    async def delete(
        self, kind: ResourceType, namespace: str | None, name: str, uid: str | None = None
    ) -> bool:
        """Delete in the background (the garbage collector takes the dependents); False when
        it was already gone. With `uid`, only that incarnation of the object is deleted."""
        body: Object = {"propagationPolicy": "Background"}
        if uid is not None:
            body["preconditions"] = {"uid": uid}
        try:
            await self._json("delete", "DELETE", kind.path(namespace, name), body=body)
        except KubeError as exc:
            if exc.not_found:
                return False
            raise
        return True


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The response's lines as they arrive (a watch sends one JSON event per line)."""
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer
