"""The sample resources of a first run: a daemon agent to chat with, a task agent to run, and the
Provider they use. Pure: a chosen provider in, YAML texts out (first_run.py writes them).

They are ordinary resources, valid for `agentops validate` and a cluster alike: a keyed
Provider names the Secret `llm-api-keys` a cluster would hold, while the embedded platform
reads the same key from the variable named after the Provider (secrets.py).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from agentops_services.api.v1alpha1.meta import API_VERSION
from agentops_services.api.yaml_source import dump_yaml
from agentops_services.local.demo import configure_line
from agentops_services.local.detect import ChosenProvider
from agentops_services.local.secrets_file import shell_path

ASSISTANT = "assistant"
SUMMARIZE = "summarize"
MEMORY_SERVER = "agentops-memory"
"""memory.serverRef of the samples: the memory service's name in a cluster; the embedded
platform serves memory itself, whatever the name."""
API_KEYS_SECRET = "llm-api-keys"
COMMENT_WIDTH = 92

ASSISTANT_PROMPT = """\
You are a helpful assistant working on this machine. You can read, search and list files and
run shell commands in your workspace. Look before you answer: read the files a question is
about rather than guessing. Keep answers short and say what you ran.
"""
SUMMARIZE_PROMPT = """\
You summarise what each run's prompt points at: a file, a folder or pasted text. Read it, then
answer with a title line, three to seven bullet points of what matters most, and the open
questions if there are any. Never change files.
"""


def _comment(text: str) -> str:
    """`text` as YAML comment lines, wrapped; lines indented by two spaces (commands to copy)
    are kept whole."""
    lines: list[str] = []
    for line in text.splitlines():
        kept = [line] if line.startswith("  ") else textwrap.wrap(line, COMMENT_WIDTH) or [""]
        lines.extend(f"# {part}".rstrip() for part in kept)
    return "\n".join(lines) + "\n"


def _document(comment: str, kind: str, name: str, spec: dict[str, Any]) -> str:
    body = {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}
    return _comment(comment) + dump_yaml(body)


def _provider_comment(chosen: ChosenProvider, secrets_file: Path) -> str:
    if chosen.demo:
        return (
            f"The offline demo model, chosen because {chosen.reason}. The scripted:// endpoint "
            "is understood by the embedded platform only: agents using this Provider replay a "
            "short script. To use a real model, run\n"
            f"  {configure_line(secrets_file)}\n"
            "and restart agentops; unedited samples then switch to it by themselves."
        )
    where = f"Chosen because {chosen.reason}."
    variable = chosen.api_key_variable
    if variable is None:
        return where
    return (
        f"{where} On this machine the key is {variable}, from the environment or "
        f"{shell_path(secrets_file)}; in a cluster, key {variable} of the Secret "
        f"{API_KEYS_SECRET}."
    )


def provider_yaml(chosen: ChosenProvider, secrets_file: Path) -> str:
    spec: dict[str, Any] = {"type": chosen.type}
    if chosen.base_url:
        spec["endpoint"] = {"baseURL": chosen.base_url}
    if chosen.api_key_variable:
        spec["apiKeySecret"] = {"name": API_KEYS_SECRET, "key": chosen.api_key_variable}
    comment = _provider_comment(chosen, secrets_file)
    return _document(comment, "Provider", chosen.name, spec)


def _agent_spec(chosen: ChosenProvider, mode: str, tools: list[str], prompt: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "model": chosen.model_ref,
        "providerRefs": [{"name": chosen.name}],
        "builtinTools": tools,
        "systemPrompt": prompt,
    }


def assistant_yaml(chosen: ChosenProvider) -> str:
    spec = _agent_spec(chosen, "daemon", ["read", "grep", "ls", "glob", "bash"], ASSISTANT_PROMPT)
    spec["permissionTools"] = ["bash"]
    spec["memory"] = {"serverRef": MEMORY_SERVER}
    spec["maxSteps"] = 30
    comment = (
        "The sample daemon agent: chat with it in the console. It reads, searches and lists "
        "files in its workspace and runs commands there (each bash command waits for your "
        "approval: remove permissionTools to let it run freely). It keeps long-term memory."
    )
    return _document(comment, "Agent", ASSISTANT, spec)


def summarize_yaml(chosen: ChosenProvider) -> str:
    spec = _agent_spec(chosen, "task", ["read", "grep", "ls", "glob"], SUMMARIZE_PROMPT)
    spec["maxSteps"] = 20
    spec["timeout"] = "10m"
    comment = (
        "The sample task agent: each AgentRun of it is one job, from a prompt to a result "
        "(the agent's runtime starts for the run and ends with it)."
    )
    return _document(comment, "Agent", SUMMARIZE, spec)


def sample_files(chosen: ChosenProvider, secrets_file: Path) -> dict[str, str]:
    """File name -> YAML text of every sample, for the provider `chosen`."""
    return {
        f"provider-{chosen.name}.yaml": provider_yaml(chosen, secrets_file),
        f"agent-{ASSISTANT}.yaml": assistant_yaml(chosen),
        f"agent-{SUMMARIZE}.yaml": summarize_yaml(chosen),
    }
