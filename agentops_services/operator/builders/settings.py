"""What the builders need from the operator's own configuration: images and telemetry."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentops_services import __version__

DEFAULT_IMAGE = f"ghcr.io/agentops/agentops:{__version__}"
DEFAULT_CRANE_IMAGE = "gcr.io/go-containerregistry/crane:debug"


@dataclass(frozen=True)
class OperatorImages:
    """Images of operator-built pods. One image runs every agentops command (runtime, gateway,
    channel bridges), so it defaults to the release the operator belongs to."""

    runtime: str = DEFAULT_IMAGE
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
