"""The MCP gateway for real: the fake MCP server (tests/fakes/mcp_server.py) behind it as a stdio
child (spawn) or over HTTP (proxy), and the mcp SDK's client in front of it on /mcp. Covered:
tools, results and tools/list_changed passed through; allow and deny rules on tools/list and
tools/call; headers and OAuth2 towards the upstream; an upstream that is unreachable, goes away
and comes back; the child dying; bad configuration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mcp_types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentops_services.api.runtime_config import PermissionPolicy
from agentops_services.cli.main import build_parser
from agentops_services.httpapi.serving import serve_in_background
from agentops_services.mcp_gateway.config import (
    GatewayConfigError,
    GatewaySettings,
    OAuthSettings,
    load_policy,
    settings_from,
)
from agentops_services.mcp_gateway.server import Gateway
from agentops_services.testing.controlplane import free_port
from tests.conftest import REPO, eventually
from tests.fakes import mcp_server as fake

FAKE_SERVER = REPO / "tests" / "fakes" / "mcp_server.py"
FAKE_COMMAND = f"{sys.executable} {FAKE_SERVER}"
AGENTOPS = [sys.executable, "-m", "agentops_services.cli.main", "mcp-gateway"]
ALL_TOOLS = ["echo", "add", "kubectl_get", "fail", "crash", "grow", "whoami"]


def text(result: mcp_types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))


async def names(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


async def health(base_url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(f"{base_url}/health")


async def healthy(base_url: str) -> dict[str, Any]:
    response = await health(base_url)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def unhealthy(base_url: str) -> dict[str, Any]:
    response = await health(base_url)
    assert response.status_code == 503, response.text
    body: dict[str, Any] = response.json()
    return body


async def listening(url: str) -> None:
    async with httpx.AsyncClient() as http:
        await http.get(url)


@pytest.fixture(scope="module")
def fake_http() -> Iterator[str]:
    """The fake MCP server over streamable HTTP, one process for the module's proxy tests."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(FAKE_SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        asyncio.run(eventually(lambda: listening(url)))
        yield url
    finally:
        process.terminate()
        process.wait(10)


def spawn(**overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        mode="spawn", host="127.0.0.1", command=(sys.executable, str(FAKE_SERVER)), **overrides
    )


def proxy(upstream: str, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(mode="proxy", host="127.0.0.1", upstream=upstream, **overrides)


@contextlib.asynccontextmanager
async def running(settings: GatewaySettings, **options: Any) -> AsyncIterator[tuple[Gateway, str]]:
    """The gateway in this process on a free loopback port: (gateway, base URL)."""
    gateway = Gateway(settings, **options)
    async with serve_in_background(gateway.app()) as server:
        try:
            yield gateway, server.url
        finally:
            await gateway.close_sessions()


@contextlib.asynccontextmanager
async def connected(
    settings: GatewaySettings, **options: Any
) -> AsyncIterator[tuple[Client, str, list[Any]]]:
    """A running gateway whose upstream is up, and a client on its /mcp: (client, base URL,
    the notifications the client received)."""
    received: list[Any] = []

    async def on_message(message: Any) -> None:
        received.append(message)

    async with running(settings, **options) as (_, url):
        await eventually(lambda: healthy(url))
        async with Client(f"{url}/mcp", mode="legacy", message_handler=on_message) as client:
            yield client, url, received


# --- spawn mode -------------------------------------------------------------------------------


async def test_spawn_serves_the_child_and_passes_on_its_tool_list_changes() -> None:
    async with connected(spawn()) as (client, url, received):
        assert await names(client) == ALL_TOOLS
        assert text(await client.call_tool("echo", {"text": "hi"})) == "echo: hi"
        failed = await client.call_tool("fail", {"reason": "on purpose"})
        assert failed.is_error and "failed on purpose: on purpose" in text(failed)

        assert text(await client.call_tool("grow", {})) == "grown"

        async def announced() -> None:
            assert any(isinstance(m, mcp_types.ToolListChangedNotification) for m in received)

        await eventually(announced)
        assert await names(client) == [*ALL_TOOLS, "extra"]
        program = Path(sys.executable).name
        assert await healthy(url) == {"status": "ok", "mode": "spawn", "upstream": program}


async def test_spawn_policy_keeps_blocked_calls_from_the_child() -> None:
    policy = PermissionPolicy(mode="deny", rules=["crash", "echo:text=secret*"])
    async with connected(spawn(policy=policy, server_name="fake")) as (client, url, _):
        assert "crash" not in await names(client)
        blocked = await client.call_tool("crash", {})
        assert blocked.is_error
        assert text(blocked) == 'tool call "crash" blocked by policy (deny mode)'
        secret = await client.call_tool("echo", {"text": "secret-plan"})
        assert secret.is_error and "blocked by policy" in text(secret)
        # Had the crash reached the child, it would be dead and this would fail.
        assert text(await client.call_tool("echo", {"text": "hello"})) == "echo: hello"
        assert (await healthy(url))["status"] == "ok"


@dataclass
class GatewayProcess:
    url: str
    process: asyncio.subprocess.Process
    log: Path

    def log_text(self) -> str:
        return self.log.read_text()


@contextlib.asynccontextmanager
async def gateway_process(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[GatewayProcess]:
    """`agentops mcp-gateway` as a real process, its log in a file."""
    port = free_port()
    log = tmp_path / "gateway.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *AGENTOPS, *args,
            env={**os.environ, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port),
                 **(env or {})},
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        yield GatewayProcess(f"http://127.0.0.1:{port}", process, log)
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)


async def test_spawn_as_the_operator_runs_it_exits_1_when_the_child_dies(tmp_path: Path) -> None:
    permissions = tmp_path / "permissions.json"
    permissions.write_text(json.dumps({"fake": {"mode": "deny", "rules": ["add"]}}))
    env = {
        "GATEWAY_MODE": "spawn",
        "GATEWAY_COMMAND": FAKE_COMMAND,
        "GATEWAY_CONFIG": str(permissions),
        "GATEWAY_SERVER_NAME": "fake",
    }
    async with gateway_process(tmp_path, env=env) as gateway:
        await eventually(lambda: healthy(gateway.url))
        async with Client(f"{gateway.url}/mcp", mode="legacy") as client:
            assert "add" not in await names(client)
            assert (await client.call_tool("add", {"a": 1, "b": 2})).is_error
            try:
                crashed = await client.call_tool("crash", {})
                assert crashed.is_error and "stopped answering" in text(crashed)
            except MCPError:
                pass  # the gateway may be gone before its answer is out
            code = await asyncio.wait_for(gateway.process.wait(), 15)
        assert code == 1, gateway.log_text()
        assert "is gone" in gateway.log_text() and "the gateway exits" in gateway.log_text()
        with pytest.raises(httpx.ConnectError):
            await health(gateway.url)


def test_a_bad_permissions_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    permissions = tmp_path / "permissions.json"
    permissions.write_text(json.dumps({"fake": {"mode": "block", "rules": []}}))
    done = subprocess.run(
        [*AGENTOPS, "--mode", "spawn", "--command", FAKE_COMMAND,
         "--config", str(permissions), "--server-name", "fake"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"agentops mcp-gateway: {permissions}: fake.mode: Input should be" in done.stderr


# --- proxy mode -------------------------------------------------------------------------------


async def test_proxy_forwards_calls_with_the_configured_headers(fake_http: str) -> None:
    settings = proxy(fake_http, headers={"Authorization": "Bearer t0ken"})
    async with connected(settings) as (client, url, _):
        assert await names(client) == ALL_TOOLS
        assert text(await client.call_tool("add", {"a": 2, "b": 3})) == "5"
        assert text(await client.call_tool("whoami", {})) == "Bearer t0ken"
        assert await healthy(url) == {
            "status": "ok",
            "mode": "proxy",
            "upstream": fake_http,
        }


async def test_allow_mode_lists_and_lets_through_only_what_a_rule_names(fake_http: str) -> None:
    policy = PermissionPolicy(mode="allow", rules=["echo", "kubectl_get:namespace=team-*"])
    async with connected(proxy(fake_http, policy=policy)) as (client, _, _):
        assert await names(client) == ["echo", "kubectl_get"]
        allowed = await client.call_tool("kubectl_get", {"kind": "pods", "namespace": "team-a"})
        assert text(allowed) == "pods in team-a: pod-a, pod-b"
        for name, arguments in [
            ("kubectl_get", {"kind": "pods", "namespace": "kube-system"}),
            ("kubectl_get", {"kind": "pods"}),  # the rule's argument is missing
            ("crash", {}),  # not listed, and not callable either
        ]:
            blocked = await client.call_tool(name, arguments)
            assert blocked.is_error, name
            assert text(blocked) == (
                f'tool call "{name}" blocked by policy (allow mode: not in the allowed rules)'
            )
        assert text(await client.call_tool("echo", {"text": "still up"})) == "echo: still up"


async def test_deny_mode_blocks_what_a_rule_matches(fake_http: str) -> None:
    policy = PermissionPolicy(mode="deny", rules=["crash", "kubectl_get:*=kube-system", "add:a=1*"])
    async with connected(proxy(fake_http, policy=policy)) as (client, _, _):
        assert await names(client) == ["echo", "add", "kubectl_get", "fail", "grow", "whoami"]
        calls: list[tuple[str, dict[str, Any]]] = [
            ("crash", {}),
            ("kubectl_get", {"kind": "pods", "namespace": "kube-system"}),
            ("kubectl_get", {"kind": "kube-system"}),  # `*=` matches any argument
            ("add", {"a": 12, "b": 1}),  # numbers are matched as their text
        ]
        for name, arguments in calls:
            blocked = await client.call_tool(name, arguments)
            assert blocked.is_error, (name, arguments)
            assert text(blocked) == f'tool call "{name}" blocked by policy (deny mode)'
        allowed = await client.call_tool("kubectl_get", {"kind": "pods", "namespace": "default"})
        assert text(allowed) == "pods in default: pod-a, pod-b"
        assert text(await client.call_tool("add", {"a": 2, "b": 1})) == "3"


@dataclass
class TokenEndpoint:
    url: str
    forms: list[dict[str, str]]


@contextlib.asynccontextmanager
async def token_endpoint(lifetimes: list[int]) -> AsyncIterator[TokenEndpoint]:
    """An OAuth2 token endpoint handing out `tok-1`, `tok-2`, ... living `lifetimes` seconds."""
    forms: list[dict[str, str]] = []

    async def token(request: Request) -> JSONResponse:
        form = {key: str(value) for key, value in (await request.form()).items()}
        forms.append(form)
        if form.get("client_secret") != "s3cret":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        lifetime = lifetimes[min(len(forms), len(lifetimes)) - 1]
        return JSONResponse({"access_token": f"tok-{len(forms)}", "expires_in": lifetime})

    app = Starlette(routes=[Route("/token", token, methods=["POST"])])
    async with serve_in_background(app) as server:
        yield TokenEndpoint(f"{server.url}/token", forms)


async def test_oauth2_tokens_are_fetched_reused_and_renewed_before_expiry(
    fake_http: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The first token is already inside the renewal margin, the second lasts an hour.
    async with token_endpoint([20, 3600]) as tokens:
        oauth = OAuthSettings(tokens.url, "gateway", "s3cret", scopes=("mcp.read", "mcp.call"))
        settings = proxy(fake_http, oauth=oauth)
        async with connected(settings) as (client, _, _):
            assert text(await client.call_tool("whoami", {})) == "Bearer tok-2"
            assert text(await client.call_tool("whoami", {})) == "Bearer tok-2"
    assert len(tokens.forms) == 2
    assert tokens.forms[0] == {
        "grant_type": "client_credentials",
        "client_id": "gateway",
        "client_secret": "s3cret",
        "scope": "mcp.read mcp.call",
    }
    assert "s3cret" not in caplog.text and "s3cret" not in repr(settings)


async def test_an_unreachable_upstream_gives_error_results_until_it_comes_up() -> None:
    port = free_port()
    upstream = f"http://127.0.0.1:{port}/mcp"
    async with running(proxy(upstream)) as (_, url):

        async def refused() -> None:
            assert "ConnectError" in (await unhealthy(url))["error"]

        await eventually(refused)
        async with Client(f"{url}/mcp", mode="legacy") as client:
            result = await client.call_tool("echo", {"text": "anyone?"})
            assert result.is_error
            assert text(result).startswith(f"MCP server {upstream} is unavailable (ConnectError")
            with pytest.raises(MCPError, match="is unavailable"):
                await client.list_tools()

            async with serve_in_background(fake.server.streamable_http_app(), port=port):

                async def answered() -> None:
                    # Each call while down also asks for a retry now, not after the backoff.
                    result = await client.call_tool("echo", {"text": "back"})
                    assert text(result) == "echo: back", text(result)

                await eventually(answered)
                await healthy(url)


async def test_a_remote_server_lost_while_idle_is_noticed_and_reconnected() -> None:
    port = free_port()
    upstream_app = fake.server.streamable_http_app
    async with (
        serve_in_background(upstream_app(), port=port) as first,
        connected(proxy(f"http://127.0.0.1:{port}/mcp"), ping_interval=0.05) as (
            client,
            url,
            received,
        ),
    ):
        # A session is told about changes once it has listed the tools, as the runtime does.
        assert await names(client) == ALL_TOOLS
        await first.stop()
        await eventually(lambda: unhealthy(url))
        async with serve_in_background(upstream_app(), port=port):
            await eventually(lambda: healthy(url))

            async def announced() -> None:
                assert any(isinstance(m, mcp_types.ToolListChangedNotification) for m in received)

            await eventually(announced)
            assert text(await client.call_tool("echo", {"text": "again"})) == "echo: again"


async def test_proxy_over_sse() -> None:
    async with serve_in_background(fake.server.sse_app()) as upstream:
        settings = proxy(f"{upstream.url}/sse", transport="sse", headers={"Authorization": "x"})
        async with connected(settings) as (client, _, _):
            assert "echo" in await names(client)
            assert text(await client.call_tool("echo", {"text": "sse"})) == "echo: sse"
            assert text(await client.call_tool("whoami", {})) == "x"


# --- configuration ----------------------------------------------------------------------------


def parse(*argv: str, env: dict[str, str] | None = None) -> GatewaySettings:
    return settings_from(build_parser().parse_args(["mcp-gateway", *argv]), env or {})


def test_flags_win_over_the_environment() -> None:
    env = {
        "GATEWAY_MODE": "proxy",
        "GATEWAY_UPSTREAM": "http://env/mcp",
        "GATEWAY_PORT": "9003",
        "GATEWAY_HEADERS": json.dumps({"X-Team": "env", "X-Env-Only": "1"}),
        "GATEWAY_TRANSPORT": "sse",
    }
    settings = parse("--upstream", "http://flag:8080/mcp", "--header", "X-Team: flag", env=env)
    assert settings.mode == "proxy" and settings.port == 9003 and settings.transport == "sse"
    assert settings.upstream == "http://flag:8080/mcp"
    assert settings.headers == {"X-Team": "flag", "X-Env-Only": "1"}
    spawned = parse("--mode", "spawn", "--command", "node '/app/my server.js' --stdio", env=env)
    assert spawned.command == ("node", "/app/my server.js", "--stdio")


def test_oauth_credentials_come_from_the_variables_the_flags_name() -> None:
    env = {"MY_ID": "gateway", "MY_SECRET": "s3cret", "GATEWAY_OAUTH_SCOPES": "a b"}
    args = ["--mode", "proxy", "--upstream", "https://mcp.example/mcp",
            "--oauth-token-url", "https://idp.example/token"]  # fmt: skip
    settings = parse(*args, "--oauth-client-id-env", "MY_ID",
                     "--oauth-client-secret-env", "MY_SECRET", env=env)  # fmt: skip
    assert settings.oauth == OAuthSettings(
        "https://idp.example/token", "gateway", "s3cret", ("a", "b")
    )
    with pytest.raises(
        GatewayConfigError, match="GATEWAY_OAUTH_CLIENT_ID and GATEWAY_OAUTH_CLIENT_SECRET not set"
    ):
        parse(*args, env=env)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--mode/GATEWAY_MODE: expected spawn or proxy, got None"),
        (["--mode", "spawn"], "spawn mode needs --command or GATEWAY_COMMAND"),
        (["--mode", "spawn", "--command", "node 'open"], "--command/GATEWAY_COMMAND: No closing"),
        (["--mode", "proxy"], "proxy mode needs --upstream or GATEWAY_UPSTREAM"),
        (["--mode", "proxy", "--upstream", "http://x/mcp", "--header", "Authorization Bearer x"],
         "--header 'Authorization Bearer x': expected 'Name: value'"),
        (["--mode", "proxy", "--upstream", "http://x/mcp", "--config", "p.json"],
         "p.json: --server-name/GATEWAY_SERVER_NAME must say whose rules apply"),
    ],
)  # fmt: skip
def test_unusable_settings_are_named(argv: list[str], message: str) -> None:
    with pytest.raises(GatewayConfigError) as error:
        parse(*argv)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ("[]", "expected an object of server name -> {mode, rules}, got list"),
        (
            '{"fake": {"mode": "allow", "rules": "echo"}}',
            "fake.rules: Input should be a valid list",
        ),
        ('{"fake": {"rules": []}}', "fake.mode: Field required"),
    ],
)
def test_a_bad_permissions_file_is_named_with_its_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "permissions.json"
    path.write_text(content)
    with pytest.raises(GatewayConfigError) as error:
        load_policy(path, "fake")
    assert str(error.value).startswith(f"{path}: {problem}")
    with pytest.raises(GatewayConfigError, match="cannot read: No such file"):
        load_policy(tmp_path / "missing.json", "fake")


def test_permissions_without_an_entry_allow_everything(tmp_path: Path) -> None:
    path = tmp_path / "permissions.json"
    path.write_text('{"_empty": null}')
    assert load_policy(path, "fake") is None
    path.write_text('{"other": {"mode": "deny", "rules": ["echo"]}, "fake": null}')
    assert load_policy(path, "fake") is None
    assert load_policy(path, "other") == PermissionPolicy(mode="deny", rules=["echo"])
