"""The editable form of a live object and how an edit of it goes back to the API server.

The view is what `kubectl edit` shows minus what the user cannot meaningfully change: `status`
(a subresource: an apply to the object ignores it), server-set metadata (`uid`,
`creationTimestamp`, `generation`, `selfLink`), kubectl's last-applied annotation and, unless
asked for, `managedFields`. `metadata.resourceVersion` stays: sending it back is what turns a
concurrent change into a 409 instead of a silent overwrite.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from agentops_services.api.yaml_source import dump_yaml

Object = dict[str, Any]

SERVER_SET_METADATA = ("uid", "creationTimestamp", "generation", "selfLink", "managedFields")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def editable_view(live: Object, show_managed_fields: bool = False) -> Object:
    """The part of `live` the user edits, in the API server's key order."""
    view = {key: copy.deepcopy(value) for key, value in live.items() if key != "status"}
    metadata: Object = view.get("metadata", {})
    for key in SERVER_SET_METADATA:
        if key != "managedFields" or not show_managed_fields:
            metadata.pop(key, None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            del metadata["annotations"]
    return view


def without_managed_fields(data: Object) -> Object:
    """`data` as it is sent and compared: shown managedFields are for reading only (an apply
    request must not carry them)."""
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return data
    return data | {"metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


def unified_diff(before: Object, after: Object, before_label: str, after_label: str) -> str:
    """A unified diff of the two objects as YAML (empty when they are equal)."""
    lines = difflib.unified_diff(
        dump_yaml(before).splitlines(keepends=True),
        dump_yaml(after).splitlines(keepends=True),
        before_label,
        after_label,
    )
    return "".join(lines)


def leftover_patch(opened: Any, edited: Any, applied: Any) -> Object | None:
    """A JSON merge patch removing what the user deleted but server-side apply kept.

    Apply removes a field only when no other field manager owns it, so a field deleted in the
    editor but set earlier by `kubectl`, the operator or a create survives the apply. This
    finds, under the objects, every key present when the editor opened and absent from the
    edit but still in `applied` (patched to null), and every list changed by the edit that
    came out different from the edit (patched to the edited list).
    """
    if not (isinstance(opened, dict) and isinstance(edited, dict) and isinstance(applied, dict)):
        return None
    patch: Object = {}
    for key, was in opened.items():
        now = applied.get(key)
        if key not in edited:
            if key in applied:
                patch[key] = None
        elif isinstance(was, list) and was != edited[key] and now != edited[key]:
            patch[key] = edited[key]
        else:
            inner = leftover_patch(was, edited[key], now)
            if inner:
                patch[key] = inner
    return patch or None
