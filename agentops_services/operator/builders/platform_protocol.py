"""config.json `platformProtocol`: what the platform tells every agent about itself, its team
and its memory. Kept apart from the user's systemPrompt (never appended to it) so the runtime
can place it and the console can show the two separately."""

from __future__ import annotations

from agentops_services.api.v1alpha1.agent import Agent, DelegationSpec, MemorySpec

MAX_FAN_OUT = 10

_DELEGATION = """\
## Delegation
You can hand work to other agents. Call list_task_agents to see who is available, run_agent to
start one run, or run_agents to start several in parallel; their results come back to you when
they finish. Write each delegation prompt so it stands on its own: the goal, the context the
other agent needs, and what to report back.
Your team:"""

_MEMORY = """\
## Memory System
You have a persistent memory that outlives this conversation. Relevant memories are injected
into your context automatically at the start of each turn."""

_SAVE = """\
### Saving — call mem_save after:
- fixing a bug (what was wrong and why the fix works)
- making or learning a decision, and its reason
- discovering how something works, a pattern, a configuration detail or a preference
Format: type (bugfix|decision|discovery|pattern|config|preference|learning), a short title,
the content in a few precise sentences, and tags."""

_NO_SAVE = "Do NOT call mem_save: memories are saved for you by the platform."

_SEARCH = """\
### Searching — call mem_search when:
- starting a task that may have been done or discussed before
- you meet an error, a component or a decision you do not recognise
Use mem_context to recall the recent sessions of this project."""

_NO_SEARCH = (
    "Do NOT call mem_search or mem_context: the relevant memories are already in your context."
)


def _delegation(delegation: DelegationSpec) -> list[str]:
    lines = [_DELEGATION, *(f"  - {member}" for member in delegation.team)]
    if 0 < delegation.max_fan_out < MAX_FAN_OUT:
        lines.append(f"Maximum parallel delegations per fan-out: {delegation.max_fan_out}.")
    return lines


def _memory(memory: MemorySpec) -> list[str]:
    return [
        _MEMORY,
        _SAVE if memory.auto_save else _NO_SAVE,
        _SEARCH if memory.auto_search else _NO_SEARCH,
    ]


def platform_protocol(agent: Agent) -> str:
    """Identity, then the delegation and memory sections the agent's spec asks for."""
    spec = agent.spec
    parts = [
        f"You are {agent.name}, a {spec.mode} agent in the {agent.namespace or 'default'} "
        "namespace."
    ]
    if spec.delegation and spec.delegation.team:
        parts += _delegation(spec.delegation)
    if spec.memory:
        parts += _memory(spec.memory)
    return "\n".join(parts)
