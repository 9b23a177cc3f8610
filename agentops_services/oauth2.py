"""Bearer tokens from an OAuth2 client-credentials grant, for httpx and httpx2 clients.

LLM providers talk through httpx and MCP transports through httpx2 (the MCP SDK's fork); both
need the same grant: fetch a token, reuse it, and fetch a new one shortly before it expires.
`ClientCredentialsGrant` holds that logic once; the two `Auth` classes only adapt it to each
library's auth-flow protocol. Secrets stay in the form sent to the token endpoint and are never
part of a message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import httpx
import httpx2

TOKEN_REFRESH_MARGIN = 30.0
"""Seconds before expiry at which a token is renewed, so no request carries a dying token."""
DEFAULT_TOKEN_LIFETIME = 300.0
"""Assumed lifetime when the token endpoint does not say (`expires_in`)."""


class TokenResponseError(ValueError):
    """The token endpoint did not hand out a token."""


class ClientCredentialsGrant:
    """The grant's request form and the cached token with its renewal time."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str] | None = None,
        audience: str | None = None,
    ) -> None:
        self.token_url = token_url
        self.form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        if scopes:
            self.form["scope"] = " ".join(scopes)
        if audience:
            self.form["audience"] = audience
        self._token: str | None = None
        self._renew_at = 0.0
        self.renewing = asyncio.Lock()
        """Held while a token is fetched, so concurrent requests wait for it instead of each
        fetching their own."""

    def cached_token(self) -> str | None:
        """The current token, or None when there is none or it is due for renewal."""
        if self._token is None or time.monotonic() >= self._renew_at:
            return None
        return self._token

    def accept(self, status_code: int, body: bytes) -> str:
        """Take the token endpoint's answer: the new token, or TokenResponseError."""
        if status_code != 200:
            raise TokenResponseError(f"OAuth2 token request failed with HTTP {status_code}")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenResponseError("OAuth2 token response has no access_token")
        try:
            lifetime = float(payload.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        self._token = token
        self._renew_at = time.monotonic() + max(0.0, lifetime - TOKEN_REFRESH_MARGIN)
        return token


class _GrantAuth:
    """The auth flow, written once for httpx and httpx2, whose request and response types have
    the same shape; `_library` says which module builds the token request and its error."""

    _library: Any

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str] | None = None,
        audience: str | None = None,
    ) -> None:
        self.grant = ClientCredentialsGrant(token_url, client_id, client_secret, scopes, audience)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        async with self.grant.renewing:
            token = self.grant.cached_token()
            if token is None:
                token_request = self._library.Request(
                    "POST", self.grant.token_url, data=self.grant.form
                )
                response = yield token_request
                await response.aread()
                try:
                    token = self.grant.accept(response.status_code, response.content)
                except TokenResponseError as exc:
                    raise self._library.HTTPStatusError(
                        str(exc), request=response.request, response=response
                    ) from None
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class OAuth2ClientCredentials(_GrantAuth, httpx.Auth):
    """Client-credentials bearer tokens for an httpx client."""

    _library = httpx


class OAuth2ClientCredentialsHttpx2(_GrantAuth, httpx2.Auth):
    """Client-credentials bearer tokens for an httpx2 client (the MCP SDK's transports)."""

    _library = httpx2
