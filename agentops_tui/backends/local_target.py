"""The editor's EditTarget on the embedded platform: objects read and saved through the
platform API, which writes them into the resource folder's files.

The guarantees are the cluster's: a save carries the resourceVersion the editor opened at, so
a change made since (in the file, or by another console) is a conflict the editor shows; a new
object never takes over an existing one of the same name; a refusal names its line and field.
"""

from __future__ import annotations

from agentops_services.api.yaml_source import dump_yaml
from agentops_services.kube.resources import ResourceType
from agentops_services.local.client import PlatformClient
from agentops_services.local.errors import (
    ConflictError,
    InvalidManifestError,
    NotFoundError,
    PlatformError,
)
from agentops_tui.services.editing import ObjectDeletedError, SaveRefusedError
from agentops_tui.services.object_view import Object


def refusal(exc: PlatformError) -> SaveRefusedError:
    """The platform's refusal in the editor's words: every problem with its line and field."""
    if isinstance(exc, InvalidManifestError) and exc.problems:
        lines = [f"line {p.line}, {p.field or 'document'}: {p.message}" for p in exc.problems]
        return SaveRefusedError("; ".join(lines))
    where = f" ({exc.field})" if exc.field else ""
    return SaveRefusedError(f"{exc.message}{where}", conflict=isinstance(exc, ConflictError))


class LocalTarget:
    """Objects of the embedded platform, saved into their resource files."""

    def __init__(self, client: PlatformClient) -> None:
        self.client = client

    async def get(self, kind: ResourceType, namespace: str, name: str) -> Object | None:
        try:
            return await self.client.get(kind.kind, name)
        except NotFoundError:
            return None
        except PlatformError as exc:
            raise refusal(exc) from None

    async def create(self, kind: ResourceType, namespace: str, manifest: Object) -> Object:
        """Refused when the name is taken: a PUT alone would replace that object. (Two
        consoles creating the same name in the same instant can still race; the second save
        then replaces the first, as a later edit would.)"""
        name = str(manifest["metadata"]["name"])
        if await self.get(kind, namespace, name) is not None:
            raise SaveRefusedError(f'{kind.kind} "{name}" already exists')
        metadata = {k: v for k, v in manifest["metadata"].items() if k != "resourceVersion"}
        return await self._put(kind, name, manifest | {"metadata": metadata})

    async def update(
        self, kind: ResourceType, namespace: str, live: Object, opened: Object, manifest: Object
    ) -> Object:
        name = str(manifest["metadata"]["name"])
        now = await self.get(kind, namespace, name)
        if now is None or now["metadata"].get("uid") != live["metadata"].get("uid"):
            raise ObjectDeletedError(f"{kind.kind} {namespace}/{name}")
        return await self._put(kind, name, manifest)

    async def _put(self, kind: ResourceType, name: str, manifest: Object) -> Object:
        """Sent as YAML, so the lines a refusal names are those of a document like the
        editor's."""
        try:
            return await self.client.put(kind.kind, name, dump_yaml(manifest))
        except PlatformError as exc:
            raise refusal(exc) from None
