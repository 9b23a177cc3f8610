"""What the builders need from the operator's own configuration: images and telemetry."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentops_services import __version__

DEFAULT_IMAGE = f"ghcr.io/agentops/agentops:{__version__}"
DEFAULT_RUNTIME_IMAGE = f"ghcr.io/agentops/agentops-runtime:{__version__}"
DEFAULT_CRANE_IMAGE = "gcr.io/go-containerregistry/crane:debug"


@dataclass(frozen=True)
class OperatorImages:
    """Images of operator-built pods, of the release the operator belongs to. The runtime has an
    image of its own because its bash tool needs a shell and the usual command-line tools; the
    gateway runs from the shell-less image every other agentops command uses (see Dockerfile)."""

    runtime: str = DEFAULT_RUNTIME_IMAGE
    """Agent runtime; Agent.spec.image overrides it per agent."""
    gateway: str = DEFAULT_IMAGE
    """MCP gateway sidecars (`agentops mcp-gateway`)."""
    crane: str = DEFAULT_CRANE_IMAGE
    """Pulls OCI tool and skill artifacts in init containers (needs a shell: the :debug tag)."""


@dataclass(frozen=True)
class BuilderSettings:
    """Operator-wide inputs of the builders, passed in by the caller (builders read no env)."""

    images: OperatorImages = field(default_factory=OperatorImages)
    otel_endpoint: str | None = None
    """OTLP endpoint given to every runtime as OTEL_EXPORTER_OTLP_ENDPOINT; none when unset."""
