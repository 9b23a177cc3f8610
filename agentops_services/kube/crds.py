"""Install the CustomResourceDefinitions and wait until the API server serves them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from kubernetes_asyncio import client, watch

FIELD_MANAGER = "agentops"


def is_established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


async def apply_crds(
    api: client.ApiClient, manifests: Iterable[dict[str, Any]], timeout: float = 60.0
) -> None:
    """Server-side apply every CRD, then wait (on a watch, with a deadline) until each is
    Established. Raises TimeoutError naming the ones that are not."""
    extensions = client.ApiextensionsV1Api(api)
    names = set()
    for manifest in manifests:
        name = manifest["metadata"]["name"]
        names.add(name)
        await extensions.patch_custom_resource_definition(
            name,
            manifest,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
            _request_timeout=30,
        )
    await wait_established(api, names, timeout)


async def wait_established(api: client.ApiClient, names: set[str], timeout: float) -> None:
    extensions = client.ApiextensionsV1Api(api)
    pending = set(names)
    try:
        async with asyncio.timeout(timeout):
            listing = await extensions.list_custom_resource_definition(_preload_content=False)
            body = await listing.json()
            pending -= {i["metadata"]["name"] for i in body["items"] if is_established(i)}
            version = body["metadata"]["resourceVersion"]
            while pending:
                async with watch.Watch() as stream:
                    async for event in stream.stream(
                        extensions.list_custom_resource_definition,
                        resource_version=version,
                        timeout_seconds=max(1, int(timeout)),
                    ):
                        crd = event["raw_object"]
                        version = crd["metadata"]["resourceVersion"]
                        if is_established(crd):
                            pending.discard(crd["metadata"]["name"])
                        if not pending:
                            break
    except TimeoutError:
        raise TimeoutError(
            f"CRDs not Established after {timeout:.0f}s: {sorted(pending)}"
        ) from None
