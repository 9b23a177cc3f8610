"""The offline demo model: what the sample agents talk to on a machine with no LLM provider, so
a newcomer still lands in a console where an agent answers and a tool runs.

Decision. The runtime has a `scripted` provider (it replays a Script), but the Provider CRD
cannot say `type: scripted`: its types are real LLM APIs, and adding a fake one to the
cluster contract would let clusters run agents on a script by mistake. So the embedded
platform gives one existing field a meaning only it acts on: a Provider of type
`openaicompat` whose `endpoint.baseURL` is `scripted://offline-demo`. The resource validates
unchanged, says what it is wherever its endpoint shows (console, YAML), and needs no
annotation or extra field. When the local supervisor writes an agent's config.json, entries of
such Providers become `type: scripted` entries replaying the demo script written next to the
config (`use_scripted_models`, `demo_script_yaml`). In a cluster the same Provider fails
honestly (the runtime cannot reach a scripted:// URL), it never pretends to be a model. Only
`offline-demo` is known; another scripted:// name is an error, not a silent demo.

The script is labelled as the demo in its own words, shows one real tool call (`ls` of the
agent's workspace) and gives the one line that configures a real provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from agentops_services.api.runtime_config import RuntimeConfig
from agentops_services.api.script import Script, ScriptToolCall, ScriptTurn
from agentops_services.api.v1alpha1.provider import Provider
from agentops_services.api.yaml_source import dump_yaml
from agentops_services.local.secrets_file import setup_command

SCRIPTED_SCHEME = "scripted"
DEMO_SCRIPT = "offline-demo"
DEMO_URL = f"{SCRIPTED_SCHEME}://{DEMO_SCRIPT}"
DEMO_PROVIDER = "offline-demo"
DEMO_MODEL = "scripted"
SCRIPT_FILE = "offline-demo-script.yaml"
"""The demo script's file name, next to the config.json that names it."""


def configure_line(secrets_file: Path) -> str:
    """The one line that configures a real provider (Anthropic's, the first detected)."""
    return setup_command(secrets_file, "ANTHROPIC_API_KEY", "sk-ant-…")


def scripted_name(provider: Provider) -> str | None:
    """The script a Provider asks for with a scripted:// endpoint; None for a real one. Only
    the scheme is looked at in a real URL: a mistyped one is the runtime's to report, not a
    reason for the platform to fail on the whole catalog."""
    endpoint = provider.spec.endpoint
    if provider.spec.type != "openaicompat" or endpoint is None or not endpoint.base_url:
        return None
    scheme, _, rest = endpoint.base_url.partition("://")
    if scheme.lower() != SCRIPTED_SCHEME:
        return None
    return rest.split("/", 1)[0].lower()


def use_scripted_models(config: RuntimeConfig, providers: Mapping[str, Provider]) -> RuntimeConfig:
    """`config` with the entries of scripted:// Providers replaced by scripted entries that
    replay SCRIPT_FILE (the runtime resolves it next to its config.json). Raises ValueError
    naming the Provider when it asks for a script other than the demo."""
    if not config.providers:
        return config
    entries = []
    for entry in config.providers:
        provider = providers.get(entry.name)
        name = scripted_name(provider) if provider is not None else None
        if name is None:
            entries.append(entry)
            continue
        if name != DEMO_SCRIPT:
            raise ValueError(
                f"Provider {entry.name}: endpoint.baseURL {SCRIPTED_SCHEME}://{name} names no "
                f"known script (only {DEMO_URL})"
            )
        entries.append(entry.model_copy(update={"type": "scripted", "script": SCRIPT_FILE}))
    return config.model_copy(update={"providers": entries})


def demo_script(secrets_file: Path) -> Script:
    """What the demo model says: who it is, one tool call, how to leave it."""
    line = configure_line(secrets_file)
    how = (
        f"To talk to a real model, add a provider key and restart agentops:\n\n    {line}\n\n"
        "OPENAI_API_KEY, GEMINI_API_KEY, OPENAI_BASE_URL (an OpenAI-compatible server) or a "
        "local Ollama work too, from the environment or that file."
    )
    return Script(
        turns=[
            ScriptTurn(
                text=(
                    "Hello! I am the **offline demo model** of AgentOps: no LLM provider is "
                    "configured on this machine, so I replay a short script instead of "
                    "thinking about your message. Tools are real, though: here is one, `ls`, "
                    "listing my workspace."
                ),
                tool_calls=[ScriptToolCall(name="ls", input={"path": "."})],
            ),
            ScriptTurn(text=f"That listing came from the `ls` tool, run for real just now. {how}"),
        ],
        when_exhausted=f"I am still the offline demo model and have nothing more to say. {how}",
    )


def demo_script_yaml(secrets_file: Path) -> str:
    """The demo script as the file SCRIPT_FILE holds it, beside a runtime's config.json."""
    data = demo_script(secrets_file).model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return dump_yaml(data)
