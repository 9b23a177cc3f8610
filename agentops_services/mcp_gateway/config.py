"""What the gateway is told: its flags, the GATEWAY_* environment the operator sets, and the
agent's permissions.json.

A flag wins over its variable. Anything that cannot be used raises `GatewayConfigError` with
one line naming the setting or the file at fault; the command exits 2 on it, before anything is
started, so a bad Deployment fails loudly instead of serving with a policy it did not mean.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from agentops_services.api.model import field_errors
from agentops_services.api.runtime_config import PermissionPolicy

Mode = Literal["spawn", "proxy"]
UpstreamTransport = Literal["streamable-http", "sse"]
MODES: tuple[Mode, ...] = ("spawn", "proxy")
TRANSPORTS: tuple[UpstreamTransport, ...] = ("streamable-http", "sse")
DEFAULT_PORT = 8080
DEFAULT_CLIENT_ID_ENV = "GATEWAY_OAUTH_CLIENT_ID"
DEFAULT_CLIENT_SECRET_ENV = "GATEWAY_OAUTH_CLIENT_SECRET"

_PERMISSIONS = TypeAdapter(dict[str, PermissionPolicy | None])


class GatewayConfigError(ValueError):
    """The gateway cannot start with this configuration (exit code 2)."""


@dataclass(frozen=True)
class OAuthSettings:
    """Client credentials for the upstream; the secret never appears in a repr or a log."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    audience: str | None = None


@dataclass(frozen=True)
class GatewaySettings:
    mode: Mode
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    command: tuple[str, ...] = ()
    """spawn: the stdio MCP server's argv."""
    upstream: str | None = None
    """proxy: the remote MCP endpoint."""
    transport: UpstreamTransport = "streamable-http"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """proxy: sent with every upstream request (values may be credentials: not in the repr)."""
    oauth: OAuthSettings | None = None
    server_name: str | None = None
    policy: PermissionPolicy | None = None
    """This server's allow/deny rules; None allows every call."""

    def upstream_label(self) -> str:
        """What the gateway fronts, safe to log and show: the program, or the URL without
        credentials, query or fragment."""
        if self.mode == "spawn":
            return Path(self.command[0]).name if self.command else ""
        parts = urlsplit(self.upstream or "")
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return f"{parts.scheme}://{netloc}{parts.path}"


def _pick(flag: str | None, env: Mapping[str, str], variable: str) -> str | None:
    if flag is not None:
        return flag
    return env.get(variable) or None


def load_policy(path: Path, server_name: str) -> PermissionPolicy | None:
    """The policy permissions.json holds for `server_name` (None: no entry, allow all).

    The whole file is checked, not only this server's entry: the operator writes one file for
    all of an agent's gateways, so a broken file is refused by every one of them alike.
    """
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise GatewayConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise GatewayConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise GatewayConfigError(
            f"{path}: expected an object of server name -> {{mode, rules}}, "
            f"got {type(document).__name__}"
        )
    try:
        policies = _PERMISSIONS.validate_python(document)
    except ValidationError as exc:
        where, message = field_errors(exc)[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise GatewayConfigError(f"{path}: {where}: {message}{more}") from None
    return policies.get(server_name)


def parse_headers(env_json: str | None, flags: Sequence[str]) -> dict[str, str]:
    """GATEWAY_HEADERS (a JSON object), then each `--header 'Name: value'` over it."""
    headers: dict[str, str] = {}
    if env_json:
        try:
            document = json.loads(env_json)
        except ValueError as exc:
            raise GatewayConfigError(f"GATEWAY_HEADERS: not valid JSON: {exc}") from None
        if not isinstance(document, dict) or not all(
            isinstance(value, str) for value in document.values()
        ):
            raise GatewayConfigError("GATEWAY_HEADERS: expected a JSON object of strings")
        headers.update(document)
    for flag in flags:
        name, colon, value = flag.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            # The value may be a credential: name only the header.
            raise GatewayConfigError(
                f"--header {name.strip()!r}: expected 'Name: value' (a name without spaces)"
            )
        headers[name.strip()] = value.strip()
    return headers


def _oauth(args: argparse.Namespace, env: Mapping[str, str]) -> OAuthSettings | None:
    token_url = _pick(args.oauth_token_url, env, "GATEWAY_OAUTH_TOKEN_URL")
    if token_url is None:
        return None
    id_env = _pick(args.oauth_client_id_env, env, "GATEWAY_OAUTH_CLIENT_ID_ENV")
    secret_env = _pick(args.oauth_client_secret_env, env, "GATEWAY_OAUTH_CLIENT_SECRET_ENV")
    id_env = id_env or DEFAULT_CLIENT_ID_ENV
    secret_env = secret_env or DEFAULT_CLIENT_SECRET_ENV
    missing = [name for name in (id_env, secret_env) if not env.get(name)]
    if missing:
        raise GatewayConfigError(f"OAuth2 client credentials: {' and '.join(missing)} not set")
    scopes = args.oauth_scope or (env.get("GATEWAY_OAUTH_SCOPES") or "").replace(",", " ").split()
    return OAuthSettings(
        token_url=token_url,
        client_id=env[id_env],
        client_secret=env[secret_env],
        scopes=tuple(scopes),
        audience=_pick(args.oauth_audience, env, "GATEWAY_OAUTH_AUDIENCE"),
    )


def _port(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    text = str(args.port) if args.port is not None else env.get("GATEWAY_PORT")
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise GatewayConfigError(f"GATEWAY_PORT: {text!r} is not a port number")
    return int(text)


def settings_from(args: argparse.Namespace, env: Mapping[str, str]) -> GatewaySettings:
    """The settings from the command line and the environment, or GatewayConfigError."""
    mode = _pick(args.mode, env, "GATEWAY_MODE")
    if mode not in MODES:
        raise GatewayConfigError(f"--mode/GATEWAY_MODE: expected spawn or proxy, got {mode!r}")
    command: tuple[str, ...] = ()
    upstream = transport = None
    if mode == "spawn":
        text = _pick(args.command, env, "GATEWAY_COMMAND") or ""
        try:
            command = tuple(shlex.split(text))
        except ValueError as exc:
            raise GatewayConfigError(f"--command/GATEWAY_COMMAND: {exc}") from None
        if not command:
            raise GatewayConfigError("spawn mode needs --command or GATEWAY_COMMAND")
    else:
        upstream = _pick(args.upstream, env, "GATEWAY_UPSTREAM")
        if upstream is None or urlsplit(upstream).scheme not in ("http", "https"):
            raise GatewayConfigError(
                f"proxy mode needs --upstream or GATEWAY_UPSTREAM as an http(s) URL, "
                f"got {upstream!r}"
            )
        transport = _pick(args.transport, env, "GATEWAY_TRANSPORT") or "streamable-http"
        if transport not in TRANSPORTS:
            raise GatewayConfigError(
                f"--transport/GATEWAY_TRANSPORT: expected streamable-http or sse, got {transport!r}"
            )
    config_path = _pick(args.config, env, "GATEWAY_CONFIG")
    server_name = _pick(args.server_name, env, "GATEWAY_SERVER_NAME")
    policy = None
    if config_path is not None:
        if server_name is None:
            raise GatewayConfigError(
                f"{config_path}: --server-name/GATEWAY_SERVER_NAME must say whose rules apply"
            )
        policy = load_policy(Path(config_path), server_name)
    return GatewaySettings(
        mode=mode,
        host=_pick(args.host, env, "GATEWAY_HOST") or "0.0.0.0",
        port=_port(args, env),
        command=command,
        upstream=upstream,
        transport=cast(UpstreamTransport, transport or "streamable-http"),
        headers=parse_headers(env.get("GATEWAY_HEADERS"), args.header or ())
        if mode == "proxy"
        else {},
        oauth=_oauth(args, env) if mode == "proxy" else None,
        server_name=server_name,
        policy=policy,
    )
