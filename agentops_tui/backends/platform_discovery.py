"""Where the platform's memory service and Tempo are, as the platform itself says.

The Helm chart installs the platform in two namespaces, the agents namespace (agent pods, the
memory Service) and its release namespace (the operator, Tempo), or points at a Tempo that is
elsewhere or only reachable at a URL. So it writes, in each agents namespace, a ConfigMap the
console reads when it connects:

    ConfigMap agentops-platform (labelled app.kubernetes.io/part-of=agentops)
      memoryService: NAME:PORT or NAMESPACE/NAME:PORT   default agentops-memory:7437
      tempoService:  NAMESPACE/NAME:PORT or NAME:PORT   default tempo:3200
      tempoURL:      http(s)://...                      Tempo's query API, before tempoService

Every key is optional, and so is the ConfigMap: without it (404), or without the right to read
it (403), the defaults are the Services of the console's namespace, as before. A NAME:PORT
without a namespace is in the console's namespace. An empty value counts as absent. A value
that does not parse is a problem the console shows, naming the key and the value, and the
default is used in its place (for a bad tempoURL: tempoService). The user's own overrides
(`TEMPO_URL`, `MEMORY_URL_OVERRIDE`, the config file's `[services]`) still come first: they
are applied where the route is opened (service_access).

The parsing is pure; `discover` reads the ConfigMap with the console's Kube client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import aiohttp

from agentops_services.kube.resources import CONFIG_MAP
from agentops_services.kube.rest import Kube, KubeError
from agentops_services.local.errors import FileProblem
from agentops_tui.backends.base import PlatformServices, Role, ServiceRef

CONFIG_MAP_NAME = "agentops-platform"
PART_OF = ("app.kubernetes.io/part-of", "agentops")
"""The label the chart puts on it (for people and `kubectl get -l`; the console reads it by
name)."""
MEMORY_SERVICE = "memoryService"
TEMPO_SERVICE = "tempoService"
TEMPO_URL = "tempoURL"

SERVICE_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
"""A Service name: an RFC 1035 label."""
NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""A namespace name: an RFC 1123 label."""
SERVICE_FORMS = "NAME:PORT or NAMESPACE/NAME:PORT"


class PlatformConfigError(ValueError):
    """A value of the ConfigMap that does not parse: its key, the value, and why."""

    def __init__(self, key: str, value: str, reason: str) -> None:
        super().__init__(f"{key} {value!r}: {reason}")
        self.key = key
        self.value = value
        self.reason = reason


def parse_service(key: str, value: str, role: Role) -> ServiceRef:
    """`NAME:PORT` or `NAMESPACE/NAME:PORT` as the ref of a `role` Service (no namespace: the
    console's); PlatformConfigError saying what is wrong otherwise."""
    text = value.strip()

    def wrong(reason: str) -> PlatformConfigError:
        return PlatformConfigError(key, value, reason)

    where, slash, rest = text.rpartition("/")
    namespace = where if slash else None
    name, colon, port_text = rest.rpartition(":")
    if not colon:
        raise wrong(f"expected {SERVICE_FORMS}: the port is missing")
    if slash and not where:
        raise wrong(f"expected {SERVICE_FORMS}: the namespace before '/' is empty")
    if namespace is not None and "/" in namespace:
        raise wrong(f"expected {SERVICE_FORMS}: more than one '/'")
    if namespace is not None and not NAMESPACE_NAME.fullmatch(namespace):
        raise wrong(
            f"{namespace!r} is not a namespace name (lowercase letters, digits and '-', at most 63)"
        )
    if not name:
        raise wrong(f"expected {SERVICE_FORMS}: the Service name is missing")
    if not SERVICE_NAME.fullmatch(name):
        raise wrong(
            f"{name!r} is not a Service name (lowercase letters, digits and '-', starting "
            "with a letter, at most 63)"
        )
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise wrong(f"the port {port_text!r} is not a number from 1 to 65535")
    return ServiceRef(role, name, int(port_text), namespace)


def parse_url(key: str, value: str) -> str:
    """An http(s) URL with a host, without its trailing '/'; PlatformConfigError otherwise."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise PlatformConfigError(key, value, f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PlatformConfigError(key, value, "expected an http:// or https:// URL with a host")
    return text.rstrip("/")


def shown(ref: ServiceRef) -> str:
    """A ref as the ConfigMap writes it (`[NAMESPACE/]NAME:PORT`)."""
    return f"{ref.namespace + '/' if ref.namespace else ''}{ref.name}:{ref.port}"


@dataclass(frozen=True)
class Discovery:
    """What the ConfigMap gave, and what was wrong with it (each bad value replaced by its
    default)."""

    services: PlatformServices
    problems: tuple[FileProblem, ...] = ()


def platform_services(data: Mapping[str, str] | None, where: str = CONFIG_MAP_NAME) -> Discovery:
    """The platform's services from the ConfigMap's data (None: no ConfigMap); never raises.
    `where` names the ConfigMap in the problems (`NAMESPACE/agentops-platform`)."""
    data = data or {}
    defaults = PlatformServices()
    problems: list[FileProblem] = []

    def problem(error: PlatformConfigError, instead: str) -> None:
        problems.append(
            FileProblem(
                path=f"ConfigMap {where}",
                line=0,
                field=error.key,
                message=f"{error.value!r}: {error.reason}; using {instead}",
                severity="warning",
            )
        )

    def service(key: str, default: ServiceRef) -> ServiceRef:
        value = str(data.get(key) or "")
        if not value.strip():
            return default
        try:
            return parse_service(key, value, default.role)
        except PlatformConfigError as exc:
            problem(exc, shown(default))
            return default

    memory = service(MEMORY_SERVICE, defaults.memory)
    tempo = service(TEMPO_SERVICE, defaults.tempo)
    url = str(data.get(TEMPO_URL) or "")
    if url.strip():
        try:
            tempo = replace(tempo, url=parse_url(TEMPO_URL, url))
        except PlatformConfigError as exc:
            problem(exc, f"the Service {shown(tempo)}")
    return Discovery(PlatformServices(memory=memory, tempo=tempo), tuple(problems))


async def discover(kube: Kube, namespace: str) -> Discovery:
    """Read the ConfigMap of `namespace` once. Without it, or without the right to read it,
    the defaults, silently; when it cannot be read for another reason, the defaults and a
    problem saying why."""
    where = f"{namespace}/{CONFIG_MAP_NAME}"
    found: Mapping[str, object] | None = None
    failure: str | None = None
    try:
        found = await kube.get(CONFIG_MAP, namespace, CONFIG_MAP_NAME)
    except KubeError as exc:
        if exc.forbidden or exc.not_found:
            return Discovery(PlatformServices())
        failure = exc.message
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        failure = str(exc) or type(exc).__name__
    if failure is not None:
        unread = FileProblem(
            path=f"ConfigMap {where}",
            line=0,
            field="",
            message=f"cannot be read ({failure}); using the Services of {namespace}",
            severity="warning",
        )
        discovery = Discovery(PlatformServices(), (unread,))
    else:
        data = (found or {}).get("data") or {}
        if not isinstance(data, Mapping):
            data = {}
        discovery = platform_services({str(k): str(v) for k, v in data.items()}, where)
    return discovery
