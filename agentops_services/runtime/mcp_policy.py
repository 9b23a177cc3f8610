"""Allow/deny rules for an MCP server's tool calls (an Agent's `tools[].permissions`), shared by
the runtime's MCP client and the MCP gateway so both decide exactly alike.

Rule grammar:
- `tool`: any call to that tool;
- `tool:arg=value`: the argument equals the value (as text);
- `tool:arg=prefix*`: the argument starts with the prefix;
- `tool:*=pattern`: any argument matches the pattern (value or `prefix*`);
- a constraint without `=` matches nothing.
Mode `deny` blocks the calls a rule matches; mode `allow` permits only those. No policy allows
everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentops_services.api.runtime_config import PermissionPolicy


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _value_matches(pattern: str, value: Any) -> bool:
    text = _text(value)
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return text == pattern


def rule_matches(rule: str, tool: str, arguments: Mapping[str, Any]) -> bool:
    name, has_constraint, constraint = rule.partition(":")
    if name.strip() != tool:
        return False
    if not has_constraint:
        return True
    key, has_value, pattern = constraint.partition("=")
    if not has_value:
        return False
    key = key.strip()
    if key == "*":
        return any(_value_matches(pattern, value) for value in arguments.values())
    return key in arguments and _value_matches(pattern, arguments[key])


def blocked_reason(
    policy: PermissionPolicy | None, tool: str, arguments: Mapping[str, Any]
) -> str | None:
    """Why the policy blocks this call, or None when it is allowed."""
    if policy is None:
        return None
    matched = any(rule_matches(rule, tool, arguments) for rule in policy.rules)
    if policy.mode == "deny" and matched:
        return f'tool call "{tool}" blocked by policy (deny mode)'
    if policy.mode == "allow" and not matched:
        return f'tool call "{tool}" blocked by policy (allow mode: not in the allowed rules)'
    return None


def listed(policy: PermissionPolicy | None, tool: str) -> bool:
    """Whether a tool can be allowed at all, so it is worth listing: in allow mode only tools a
    rule names; in deny mode every tool but those denied without a constraint."""
    if policy is None:
        return True
    names = {rule.partition(":")[0].strip() for rule in policy.rules}
    unconditional = {rule.strip() for rule in policy.rules if ":" not in rule}
    if policy.mode == "allow":
        return tool in names
    return tool not in unconditional
