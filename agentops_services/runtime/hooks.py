"""Tool hooks (`toolHooks`): guards and side effects around every tool call.

- allowedPaths: the built-in file tools are confined by the workspace; for other tools (MCP) a
  string `path` argument must resolve inside the allowed paths too.
- contextInjectTools: memories related to the call are appended to its result, so the model
  reads them with the output (upstream fetched them and only traced them).
- auditTools: a log line and a span event per call, and an `audit/<tool>` memory.
- memorySaveRules: a memory saved when a call's output (and arguments) match.
- Refused commands and paths are remembered as `security` memories.

Memory writes run in the background, bounded; a failure is logged, never the turn's problem.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from agentops_services.api.conversation import ToolCallPart
from agentops_services.api.v1alpha1.agent import MemorySaveRule, ToolHooksSpec
from agentops_services.runtime.memory_client import MemoryClient, MemoryUnavailableError
from agentops_services.runtime.tooling import ToolOutcome
from agentops_services.runtime.tools.workspace import ConfinementError, Workspace

LOG = logging.getLogger(__name__)
AUDIT = logging.getLogger("agentops.audit")
MAX_BACKGROUND_SAVES = 64
PREVIEW_ARGS = ("command", "path", "pattern", "url", "query", "branch", "message", "name")


def preview(arguments: Mapping[str, Any]) -> str:
    """The first telling string argument, on one line, at most 80 characters."""
    for key in PREVIEW_ARGS:
        value = arguments.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= 80 else text[:80] + "..."
    return ""


def _rule_skip(rule: MemorySaveRule, arguments: Mapping[str, Any], output: str) -> str | None:
    """Why `rule` does not fire for this call (None when it does)."""
    try:
        if rule.match_output and not re.search(rule.match_output, output):
            return "output_not_matched"
        for name, pattern in (rule.match_args or {}).items():
            value = arguments.get(name)
            if value is None:
                return "arg_missing"
            if not re.search(pattern, str(value)):
                return "arg_not_matched"
    except re.error:
        return "invalid_regex"
    return None


@dataclass
class ToolHooks:
    spec: ToolHooksSpec
    workspace: Workspace
    memory: MemoryClient | None = None
    builtin: frozenset[str] = frozenset()
    """Tools already confined by the workspace."""
    _saves: set[asyncio.Task[None]] = field(default_factory=set)

    def refusal(self, call: ToolCallPart, arguments: Mapping[str, Any]) -> str | None:
        """Why the call may not run (None when it may)."""
        path = arguments.get("path")
        if self.spec.allowed_paths and call.tool_name not in self.builtin and isinstance(path, str):
            try:
                self.workspace.resolve(path)
            except ConfinementError as exc:
                self._security("path_denied", f"Path denied: {path}", f"{call.tool_name}: {exc}")
                return str(exc)
        return None

    async def after(
        self, call: ToolCallPart, arguments: Mapping[str, Any], outcome: ToolOutcome
    ) -> ToolOutcome:
        span = trace.get_current_span()
        span.set_attribute("tool.preview", preview(arguments))
        blocked = outcome.metadata.get("blocked")
        if blocked:
            self._security(
                "blocked_command", f"Blocked command: {blocked}", f"Command: {arguments}"
            )
        self._audit(call, outcome, span)
        if not outcome.is_error:
            self._apply_save_rules(call, arguments, outcome, span)
        return await self._inject_context(call, arguments, outcome, span)

    def _audit(self, call: ToolCallPart, outcome: ToolOutcome, span: trace.Span) -> None:
        if call.tool_name not in (self.spec.audit_tools or ()):
            return
        status = "error" if outcome.is_error else "success"
        duration = outcome.metadata.get("duration", 0)
        AUDIT.info(
            "tool call audited",
            extra={"tool": call.tool_name, "status": status, "duration_ms": duration},
        )
        span.add_event("hook.audit", {"tool.name": call.tool_name, "tool.status": status})
        self._save(
            "audit",
            f"Audit: {call.tool_name} ({status}, {duration}ms)",
            f"Tool: {call.tool_name}\nStatus: {status}\nDuration: {duration}ms",
            tags=["audit", "hook", call.tool_name],
            topic_key=f"audit/{call.tool_name}",
        )

    def _apply_save_rules(
        self,
        call: ToolCallPart,
        arguments: Mapping[str, Any],
        outcome: ToolOutcome,
        span: trace.Span,
    ) -> None:
        rule = next(
            (r for r in self.spec.memory_save_rules or () if r.tool == call.tool_name), None
        )
        if rule is None or self.memory is None:
            return
        reason = _rule_skip(rule, arguments, outcome.output)
        if reason is not None:
            span.add_event("hook.memory_save_skipped", {"reason": reason})
            return
        subject = preview(arguments)
        title = f"Auto-captured: {call.tool_name}" + (f" — {subject}" if subject else "")
        self._save(
            rule.type,
            title,
            outcome.output[:1000] or "(no output)",
            tags=["auto-capture", "hook", call.tool_name],
            scope=rule.scope,
        )
        span.add_event("hook.memory_saved", {"memory.title": title})

    async def _inject_context(
        self,
        call: ToolCallPart,
        arguments: Mapping[str, Any],
        outcome: ToolOutcome,
        span: trace.Span,
    ) -> ToolOutcome:
        rule = next(
            (r for r in self.spec.context_inject_tools or () if r.tool == call.tool_name), None
        )
        if rule is None or self.memory is None:
            return outcome
        query = rule.query
        if query in ("", "from_tool_args"):
            query = next(
                (str(arguments[k]) for k in ("command", "query", "path") if arguments.get(k)), ""
            )
        try:
            block = await self.memory.context(query or None, rule.limit)
        except MemoryUnavailableError as exc:
            span.add_event("hook.context_inject_skipped", {"reason": str(exc)[:200]})
            return outcome
        if not block:
            span.add_event("hook.context_inject_empty")
            return outcome
        span.add_event("hook.context_injected", {"result_count": block.count("\n- ") + 1})
        output = f"{outcome.output.rstrip()}\n\n[Related memory]\n{block}"
        return ToolOutcome(
            output, outcome.is_error, outcome.metadata, outcome.media_type, outcome.data
        )

    def _security(self, reason: str, title: str, content: str) -> None:
        self._save(
            "security",
            title,
            content,
            tags=["security", "hook", reason],
            topic_key=f"security/{reason}",
        )

    def _save(self, type_: str, title: str, content: str, **extra: Any) -> None:
        if self.memory is None:
            return
        if len(self._saves) >= MAX_BACKGROUND_SAVES:
            LOG.warning("memory save dropped (too many pending): %s", title)
            return
        task = asyncio.create_task(self._save_now(type_, title, content, extra))
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)

    async def _save_now(self, type_: str, title: str, content: str, extra: dict[str, Any]) -> None:
        assert self.memory is not None
        try:
            await self.memory.save(type_, title, content, **extra)
        except (MemoryUnavailableError, ValueError) as exc:
            LOG.warning("hook memory save failed: %s", exc)

    async def drain(self) -> None:
        """Wait for the background saves (at shutdown)."""
        if self._saves:
            await asyncio.wait(set(self._saves), timeout=10)
