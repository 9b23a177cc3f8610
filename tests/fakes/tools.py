"""Tools for exercising the agent loop: quick, slow, failing, and one that waits for a signal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel

from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool


class EchoArguments(BaseModel):
    text: str
    """What to say back."""


@dataclass
class EchoTool(TypedTool[EchoArguments]):
    """Says its argument back; parallel-safe, and records the order calls ran in."""

    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Repeat the given text."
    arguments: ClassVar[type[BaseModel]] = EchoArguments
    parallel_safe: ClassVar[bool] = True
    ui: ClassVar[str | None] = "terminal"
    calls: list[str] = field(default_factory=list)

    async def call(self, arguments: EchoArguments, context: ToolContext) -> ToolOutcome:
        self.calls.append(arguments.text)
        return ToolOutcome(f"echo: {arguments.text}", metadata={"chars": len(arguments.text)})


class NoArguments(BaseModel):
    pass


@dataclass
class BlockingTool(TypedTool[NoArguments]):
    """Runs until `release` is set; tells when it started and whether it was cancelled."""

    name: ClassVar[str] = "block"
    description: ClassVar[str] = "Wait for an outside signal."
    arguments: ClassVar[type[BaseModel]] = NoArguments
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False

    async def call(self, arguments: NoArguments, context: ToolContext) -> ToolOutcome:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return ToolOutcome("released")


@dataclass
class BrokenTool(TypedTool[NoArguments]):
    """Raises, as a buggy tool would."""

    name: ClassVar[str] = "broken"
    description: ClassVar[str] = "Always fails."
    arguments: ClassVar[type[BaseModel]] = NoArguments

    async def call(self, arguments: NoArguments, context: ToolContext) -> ToolOutcome:
        raise RuntimeError("disk on fire")
