"""One span, for the pane under the waterfall: what failed, the GenAI facts (model, tokens,
finish reasons; a tool's arguments and result), events, then every attribute."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from agentops_tui.services.traces.detail import SpanDetail
from agentops_tui.services.traces.layout import format_duration

TEXT_SHOWN = 4_000


def _facts(rows: list[tuple[str, object]]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1))
    for label, value in rows:
        if value not in (None, "", ()):
            shown = ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
            table.add_row(Text(label, style="dim"), shown[:TEXT_SHOWN])
    return table


def span_view(detail: SpanDetail) -> RenderableType:
    node = detail.node
    head = Text(node.name, style="bold red" if node.error else "bold")
    head.append(f"  {node.service}  {format_duration(node.duration_ns)}", style="dim")
    parts: list[RenderableType] = [head]
    if detail.status_message:
        parts.append(Text(f"✗ {detail.status_message}", style="red"))
    if detail.agent:
        parts.append(_facts([("agent", detail.agent)]))
    if detail.model is not None:
        model = detail.model
        parts.append(
            _facts(
                [
                    ("model", model.response_model or model.request_model),
                    ("provider", model.provider),
                    ("tokens in", model.input_tokens),
                    ("tokens out", model.output_tokens),
                    ("reasoning", model.reasoning_tokens),
                    ("cache read", model.cache_read_tokens),
                    ("finish", model.finish_reasons),
                ]
            )
        )
    if detail.tool is not None:
        tool = detail.tool
        parts.append(
            _facts(
                [
                    ("tool", tool.name),
                    ("server", tool.mcp_server),
                    ("arguments", tool.arguments),
                    ("result", tool.result),
                    ("error", tool.error),
                ]
            )
        )
    for event in detail.events:
        line = Text(f"+{format_duration(event.offset_ns)} {event.name}", style="yellow")
        parts.append(line)
        parts.append(_facts(list(event.attributes)))
    parts.append(Text("Attributes", style="bold"))
    parts.append(_facts(list(detail.attributes)))
    return Group(*parts)
