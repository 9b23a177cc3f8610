"""The git workspace of a task AgentRun (§4.2.3): which repository and branches, as the
runtime's GIT_* environment. Cloning, branching and pushing are the runtime's job.

Upstream also copied its per-provider git MCP servers into the pod from its own images; the
agentops runtime needs none, so only the environment (and the resource in the run's
config.json, see job.build_run_config_map) is given.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from agentops_services.api.v1alpha1.agentresource import AgentResource
from agentops_services.api.v1alpha1.agentrun import GitWorkspace
from agentops_services.operator.builders.credentials import secret_env

WORKSPACE_KINDS = ("github-repo", "gitlab-project", "git-repo")
TOKEN_ENV = {"github": "GH_TOKEN", "gitlab": "GITLAB_TOKEN", "git": "GIT_TOKEN"}


def github_web_url(api_url: str | None) -> str:
    """The web (clone) host of a GitHub API URL: https://api.github.com -> https://github.com,
    https://ghe.example.com/api/v3 -> https://ghe.example.com. Upstream cloned from the API
    URL itself, which only a proxy in front of GitHub could serve."""
    if not api_url:
        return "https://github.com"
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.netloc.removeprefix("api.")
    return f"{parts.scheme}://{host}{parts.path.removesuffix('/api/v3')}"


def _value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def git_workspace_env(
    workspace: GitWorkspace, resource: AgentResource
) -> tuple[list[dict[str, Any]], str | None]:
    """The runtime env of a git workspace on `resource`, or ([], why it cannot be one)."""
    spec = resource.spec
    provider_env: list[dict[str, Any]]
    if spec.kind == "github-repo" and spec.github:
        github = spec.github
        provider, default_branch = "github", github.default_branch
        url = f"{github_web_url(github.api_url)}/{github.owner}/{github.repo}.git"
        provider_env = [_value("GIT_OWNER", github.owner), _value("GIT_REPO", github.repo)]
        if github.api_url:
            provider_env.append(_value("GITHUB_API_URL", github.api_url))
    elif spec.kind == "gitlab-project" and spec.gitlab:
        gitlab = spec.gitlab
        provider, default_branch = "gitlab", gitlab.default_branch
        url = f"{gitlab.base_url.rstrip('/')}/{gitlab.project}.git"
        provider_env = [
            _value("GIT_PROJECT", gitlab.project),
            _value("GITLAB_URL", gitlab.base_url),
        ]
    elif spec.kind == "git-repo" and spec.git:
        provider, default_branch, url = "git", spec.git.branch, spec.git.url
        provider_env = []
    else:
        kinds = ", ".join(WORKSPACE_KINDS)
        return [], (
            f'AgentResource "{resource.name}" is of kind {spec.kind}: '
            f"a git workspace needs one of {kinds}"
        )
    env = [
        _value("GIT_PROVIDER", provider),
        _value("GIT_REPO_URL", url),
        _value("GIT_BRANCH", workspace.branch),
        _value("GIT_BASE_BRANCH", workspace.base_branch or default_branch or "main"),
        *provider_env,
    ]
    if spec.credentials:
        env.append(secret_env(TOKEN_ENV[provider], spec.credentials))
        if provider != "git":
            env.append(secret_env("GIT_TOKEN", spec.credentials))
    return env, None
