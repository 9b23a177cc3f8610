"""Starter YAML for a new object of each of our kinds (the console's `n` key).

Each template is a small, valid object (a unit test validates all six against the CRD rules)
whose comments say what the fields mean and which ones usually come next, so the user edits
rather than writes from scratch. They are text, not dumped data, precisely to keep those
comments.
"""

from __future__ import annotations

from agentops_services.api.v1alpha1 import API_VERSION

_HEAD = f"apiVersion: {API_VERSION}\nkind: {{kind}}\nmetadata:\n  name: {{name}}\n"
_HEAD += "  namespace: {namespace}\n"

_SPECS = {
    "Agent": (
        "my-agent",
        """\
spec:
  # daemon: an always-running Deployment you chat with; task: one Job per AgentRun.
  mode: daemon
  # provider/model; the provider must be listed in providerRefs.
  model: anthropic/claude-sonnet-4-5
  providerRefs:
    - name: anthropic   # a Provider in this namespace
  # Built-in tools the agent may use (omit the field to get all of them).
  builtinTools: [read, grep, glob]
  systemPrompt: |
    You are a helpful assistant for this team.
  # Also common: tools (AgentTools), memory, resourceBindings, storage, schedule (task mode).
""",
    ),
    "AgentRun": (
        "my-run",
        """\
spec:
  # The Agent that runs this prompt. A run's spec cannot change once it is created.
  agentRef: my-agent
  # Who asked: console, channel, agent or schedule.
  source: console
  prompt: |
    Describe what the agent should do.
  # Also common: git (repository, branch and intent for code changes).
""",
    ),
    "AgentTool": (
        "my-tool",
        """\
spec:
  description: Prints the current date as JSON.
  category: utility
  # Exactly one source: inline, oci, configMap, skill, mcpServer or mcpEndpoint.
  inline:
    content: |
      #!/bin/sh
      date -u +'{"date": "%Y-%m-%dT%H:%M:%SZ"}'
""",
    ),
    "AgentResource": (
        "my-docs",
        """\
spec:
  # What the agents get access to: documentation, git-repo, github-repo, github-org,
  # gitlab-project, gitlab-group or s3-bucket; the block of the same name configures it.
  kind: documentation
  displayName: Team documentation
  documentation:
    urls:
      - https://kubernetes.io/docs/concepts/
""",
    ),
    "Channel": (
        "my-channel",
        """\
spec:
  # telegram, slack or discord (chat), or gitlab, github or webhook (events).
  type: webhook
  agentRef: my-agent   # the Agent that handles the events
  webhookConfig:
    secret: {name: my-webhook-hmac, key: secret}   # Secret holding the HMAC key
  # Event channels render this template from the event payload into the prompt.
  prompt: Investigate the alert {{ .commonLabels.alertname }} and summarise the cause.
  image: ghcr.io/agentops/channel-webhook:0.1.0   # the bridge image
""",
    ),
    "Provider": (
        "my-provider",
        """\
spec:
  # anthropic, openai, google, openrouter, openaicompat, ollama, ...
  type: anthropic
  # The Secret and key holding the API key (never the key itself).
  apiKeySecret: {name: llm-api-keys, key: ANTHROPIC_API_KEY}
""",
    ),
}

TEMPLATE_KINDS = tuple(_SPECS)
"""The kinds a template exists for: all six of ours."""


def new_from_template(kind: str, namespace: str) -> str:
    """Starter YAML for a new `kind` object in `namespace`."""
    name, spec = _SPECS[kind]
    return _HEAD.format(kind=kind, name=name, namespace=namespace) + spec
