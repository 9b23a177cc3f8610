"""crane init containers that unpack OCI tool and skill artifacts into /tools/<binding> (§5.2).

The runtime expects `manifest.json` and the binary (tools) or the markdown (skills) there.
Every value put into the shell command is quoted with shlex.quote.
"""

from __future__ import annotations

import shlex
from typing import Any

from agentops_services.api.v1alpha1.common import SecretKeyRef
from agentops_services.operator import names
from agentops_services.operator.builders.tool_bindings import BoundTool

PULL_SOURCES = ("oci", "skill")
PULL_SECRET_MOUNT = "/tmp/pull-secret"
DOCKER_CONFIG_DIR = "/tmp/docker-config"
TOOLS_VOLUME = "tools"


def pull_secret_volume_name(bound: BoundTool) -> str:
    return f"pull-secret-{bound.name}"


def _artifact(bound: BoundTool) -> tuple[str, str | None, SecretKeyRef | None]:
    """(reference, digest, pullSecret) of an oci or skill source."""
    source = bound.tool.spec.oci or bound.tool.spec.skill
    if source is None:
        raise ValueError(f"AgentTool {bound.tool.name} has no oci or skill source")
    return source.ref, source.digest, source.pull_secret


def pull_reference(ref: str, digest: str | None) -> str:
    """The reference crane exports: pinned to the digest when one is given (upstream ignored
    the digest, so a moved tag silently changed the tool)."""
    if digest and "@" not in ref:
        return f"{ref}@{digest}"
    return ref


def pull_volumes(bound: BoundTool) -> list[dict[str, Any]]:
    """The pull-secret volume of an artifact, if it has one."""
    _, _, secret = _artifact(bound)
    if secret is None:
        return []
    return [{"name": pull_secret_volume_name(bound), "secret": {"secretName": secret.name}}]


def pull_init_container(bound: BoundTool, image: str) -> dict[str, Any]:
    """`init-pull-tool-<binding>` (oci) or `init-pull-skill-<binding>` (skill)."""
    ref, digest, secret = _artifact(bound)
    target = shlex.quote(bound.path)
    steps = [
        "set -eo pipefail",
        f"mkdir -p {target}",
        f"crane export {shlex.quote(pull_reference(ref, digest))} - | tar -xf - -C {target}",
    ]
    env = [{"name": "HOME", "value": "/tmp"}]
    mounts: list[dict[str, Any]] = [{"name": TOOLS_VOLUME, "mountPath": names.TOOLS_MOUNT}]
    if secret is not None:
        config = shlex.quote(f"{PULL_SECRET_MOUNT}/{secret.key}")
        steps[1:1] = [
            f"mkdir -p {DOCKER_CONFIG_DIR}",
            f"cp {config} {DOCKER_CONFIG_DIR}/config.json",
        ]
        env.append({"name": "DOCKER_CONFIG", "value": DOCKER_CONFIG_DIR})
        mounts.append(
            {
                "name": pull_secret_volume_name(bound),
                "mountPath": PULL_SECRET_MOUNT,
                "readOnly": True,
            }
        )
    kind = "tool" if bound.source == "oci" else "skill"
    return {
        "name": f"init-pull-{kind}-{bound.name}",
        "image": image,
        "command": ["sh", "-c", "\n".join(steps)],
        "env": env,
        "volumeMounts": mounts,
    }
