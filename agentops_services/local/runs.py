"""AgentRuns made from a console through the platform API: named as the API server names an
object created with `generateName: <agent>-` (five characters of its alphabet), so local and
cluster runs look alike."""

from __future__ import annotations

import secrets
from typing import Any

from agentops_services.api.v1alpha1.meta import API_VERSION

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The API server's generateName alphabet (no vowels, no look-alike digits)."""
SUFFIX_LENGTH = 5
NAME_LIMIT = 63


def console_run(agent: str, prompt: str) -> dict[str, Any]:
    """A new AgentRun of `agent` for `prompt`, source console, with a fresh name."""
    suffix = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
    prefix = f"{agent}-"[: NAME_LIMIT - SUFFIX_LENGTH]
    return {
        "apiVersion": API_VERSION,
        "kind": "AgentRun",
        "metadata": {"name": prefix + suffix},
        "spec": {"agentRef": agent, "prompt": prompt, "source": "console"},
    }
