"""The fetch tool: one web page or file over http(s), as readable text.

Guarded against server-side request forgery at every hop: the scheme must be http(s), and a
host that is (or resolves to) a loopback, private, shared, link-local, multicast or
cloud-metadata address is refused, redirects included (each is checked before it is followed).
The connection goes to the address that was checked, so a DNS answer that changes in between
(rebinding) cannot lead elsewhere. Unlike upstream, an unresolvable host is refused too, and
HTTP errors are error results. Cloud metadata endpoints stay refused with allow_private.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import ClassVar

import httpx
from pydantic import BaseModel, Field

from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool
from agentops_services.runtime.tools.files import Arguments

FETCH_TIMEOUT = 30.0
"""Seconds for the whole fetch, redirects included."""
MAX_FETCH_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
METADATA_HOSTS = {
    "169.254.169.254",
    "metadata.google.internal",
    "metadata.internal",
    "fd00:ec2::254",
    "100.100.100.200",
}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}
"""Cloud metadata endpoints: refused even with allow_private, by name and by address."""
NAT64 = ipaddress.ip_network("64:ff9b::/96")
BLOCKS = {"script", "style", "noscript", "template", "svg", "head"}
BREAKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "section",
          "article", "header", "footer", "table", "ul", "ol", "blockquote", "hr"}  # fmt: skip
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedError(ValueError):
    pass


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64): it is where packets go."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public(address: IpAddress) -> bool:
    """Loopback, private, link-local, shared (CGNAT), reserved, unspecified or multicast."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return non_public(embedded)
    return not address.is_global or address.is_multicast


async def check_url(url: httpx.URL, allow_private: bool) -> str:
    """The address to connect to for `url` (checked, so that a DNS answer that changes between
    the check and the connection cannot lead elsewhere); BlockedError when it may not be
    fetched."""
    if url.scheme not in ("http", "https"):
        raise BlockedError(f"only http and https URLs can be fetched, not {url.scheme or 'none'}")
    host = url.raw_host.decode("ascii").lower().rstrip(".").strip("[]")
    if not host:
        raise BlockedError("the URL has no host")
    if host in METADATA_HOSTS:
        raise BlockedError(f"{host} is a cloud metadata endpoint")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise BlockedError(f"cannot resolve {host}: {reason}") from None
    addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
    if not addresses:
        raise BlockedError(f"cannot resolve {host}: no addresses")
    for text in addresses:
        address = ipaddress.ip_address(text)
        if address in METADATA_ADDRESSES or _embedded_ipv4(address) in METADATA_ADDRESSES:
            raise BlockedError(f"{host} is a cloud metadata endpoint ({address})")
        if not allow_private and non_public(address):
            raise BlockedError(f"{host} resolves to a non-public address ({address})")
    return addresses[0]


class TextExtractor(HTMLParser):
    """Visible text of an HTML page, one block per line, links followed by their URL, and the
    text of <pre> kept as it is (code samples keep their indentation)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.inline: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.link: str | None = None

    def _flush(self) -> None:
        if self.pre:
            block = "".join(self.inline).strip("\n").splitlines()
            self.lines.extend(line.rstrip() for line in block)
        else:
            line = " ".join("".join(self.inline).split())
            if line:
                self.lines.append(line)
        self.inline = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.hidden = 0  # a <head> left open (allowed in HTML) does not hide the page
        if tag in BLOCKS:
            self.hidden += 1
        elif tag in BREAKS:
            self._flush()
        if tag == "pre":
            self.pre += 1
        if tag == "a":
            self.link = dict(attrs).get("href")
        if tag == "li":
            self.inline.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BREAKS:
            self._flush()
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag == "a" and self.link:
            if self.link.startswith(("http://", "https://")):
                self.inline.append(f" ({self.link})")
            self.link = None

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.inline.append(data)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines)


def html_to_text(html: str) -> str:
    extractor = TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()


class FetchArguments(Arguments):
    url: str = Field(min_length=1)
    """http(s) URL to fetch."""


@dataclass
class FetchTool(TypedTool[FetchArguments]):
    name: ClassVar[str] = "fetch"
    description: ClassVar[str] = (
        "Fetch a web page or file over http(s); HTML comes back as readable text. Only public "
        "addresses can be reached."
    )
    arguments: ClassVar[type[BaseModel]] = FetchArguments
    parallel_safe: ClassVar[bool] = True
    ui: ClassVar[str | None] = "web-fetch"
    allow_private: bool = False
    """Reach loopback and private addresses (AGENT_FETCH_ALLOW_PRIVATE, for local setups)."""

    async def call(self, arguments: FetchArguments, context: ToolContext) -> ToolOutcome:
        metadata: dict[str, object] = {"url": arguments.url}
        try:
            async with (
                asyncio.timeout(FETCH_TIMEOUT),
                httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client,
            ):
                return await self._fetch(client, httpx.URL(arguments.url), metadata)
        except BlockedError as exc:
            return ToolOutcome.error(f"blocked: {exc}", **metadata)
        except TimeoutError:
            return ToolOutcome.error(f"fetch timed out after {FETCH_TIMEOUT:g} s", **metadata)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            return ToolOutcome.error(f"fetch failed: {type(exc).__name__}: {exc}", **metadata)

    async def _fetch(
        self, client: httpx.AsyncClient, url: httpx.URL, metadata: dict[str, object]
    ) -> ToolOutcome:
        for _ in range(MAX_REDIRECTS + 1):
            address = await check_url(url, self.allow_private)
            # Connect to the address just checked; the name still goes in Host and TLS SNI.
            headers = {"User-Agent": "agentops-fetch", "Host": url.netloc.decode("ascii")}
            extensions = {"sni_hostname": url.raw_host.decode("ascii")}
            request = client.build_request(
                "GET", url.copy_with(host=address), headers=headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = url.join(response.headers["location"])
                    continue
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_FETCH_BYTES:
                        break
            finally:
                await response.aclose()
            metadata["finalUrl"] = str(url)
            return self._outcome(response, bytes(body), metadata)
        raise BlockedError(f"more than {MAX_REDIRECTS} redirects")

    def _outcome(
        self, response: httpx.Response, body: bytes, metadata: dict[str, object]
    ) -> ToolOutcome:
        kind = response.headers.get("content-type", "")
        truncated = len(body) > MAX_FETCH_BYTES
        body = body[:MAX_FETCH_BYTES]
        metadata.update(status=response.status_code, contentType=kind, size=len(body))
        if b"\x00" in body[:8192] and not kind.startswith("text/"):
            message = f"binary content ({kind or 'unknown type'}, {len(body)} bytes) not shown"
            if response.status_code >= 400:
                message = f"HTTP {response.status_code}: {message}"
            return ToolOutcome.error(message, **metadata)
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if "html" in kind or (
            not kind and text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
        ):
            text = html_to_text(text)
        if truncated:
            text += f"\n[truncated: only the first {MAX_FETCH_BYTES} bytes were fetched]"
        if response.status_code >= 400:
            return ToolOutcome.error(f"HTTP {response.status_code}\n{text}", **metadata)
        return ToolOutcome(text, metadata=metadata)
