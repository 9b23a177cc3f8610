"""Where the console finds the platform's memory service and Tempo: the `agentops-platform`
ConfigMap's values parsed (every form it accepts, every malformed one with its message), the
defaults without it, and the user's override URL still first."""

from __future__ import annotations

from typing import Any, cast

import pytest

from agentops_services.kube.rest import Kube, KubeError
from agentops_services.local.errors import FileProblem
from agentops_tui.backends.base import PlatformServices, ServiceRef
from agentops_tui.backends.platform_discovery import (
    CONFIG_MAP_NAME,
    PlatformConfigError,
    discover,
    parse_service,
    parse_url,
    platform_services,
)
from agentops_tui.backends.service_access import ServiceAccess, override_url
from agentops_tui.services.folder_problems import problem_line

# --- NAME:PORT and NAMESPACE/NAME:PORT -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("agentops-memory:7437", ServiceRef("memory", "agentops-memory", 7437)),
        ("agents/agentops-memory:7437", ServiceRef("memory", "agentops-memory", 7437, "agents")),
        ("observability/tempo:3200", ServiceRef("memory", "tempo", 3200, "observability")),
        ("  0-team/m:1\n", ServiceRef("memory", "m", 1, "0-team")),
        ("m:65535", ServiceRef("memory", "m", 65535)),
        (f"{'n' * 63}/{'s' * 63}:80", ServiceRef("memory", "s" * 63, 80, "n" * 63)),
    ],
)
def test_a_service_is_name_and_port_with_an_optional_namespace(
    value: str, expected: ServiceRef
) -> None:
    assert parse_service("memoryService", value, "memory") == expected


def test_the_role_is_the_one_asked_for() -> None:
    ref = parse_service("tempoService", "agent-system/agentops-tempo:3200", "tempo")
    assert ref == ServiceRef("tempo", "agentops-tempo", 3200, "agent-system")
    assert ref.label == "tempo" and ref.url is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("agentops-memory", "expected NAME:PORT or NAMESPACE/NAME:PORT: the port is missing"),
        ("agents/agentops-memory", "the port is missing"),
        ("/agentops-memory:7437", "the namespace before '/' is empty"),
        ("a/b/c:7437", "more than one '/'"),
        ("Agents/m:7437", "'Agents' is not a namespace name"),
        (f"{'n' * 64}/m:7437", f"'{'n' * 64}' is not a namespace name"),
        (":7437", "the Service name is missing"),
        ("agents/:7437", "the Service name is missing"),
        ("Memory:7437", "'Memory' is not a Service name"),
        ("1memory:7437", "'1memory' is not a Service name"),
        ("mem_ory:7437", "'mem_ory' is not a Service name"),
        ("memory-:7437", "'memory-' is not a Service name"),
        ("m:7437:1", "'m:7437' is not a Service name"),
        ("m:", "the port '' is not a number from 1 to 65535"),
        ("m:http", "the port 'http' is not a number from 1 to 65535"),
        ("m:0", "the port '0' is not a number from 1 to 65535"),
        ("m:65536", "the port '65536' is not a number from 1 to 65535"),
        ("m:-1", "the port '-1' is not a number from 1 to 65535"),
        ("m:٣", "the port '٣' is not a number from 1 to 65535"),
    ],
)
def test_a_malformed_service_says_its_key_its_value_and_why(value: str, reason: str) -> None:
    with pytest.raises(PlatformConfigError) as caught:
        parse_service("memoryService", value, "memory")
    error = caught.value
    assert (error.key, error.value) == ("memoryService", value)
    assert reason in error.reason, error.reason
    assert str(error) == f"memoryService {value!r}: {error.reason}"


# --- tempoURL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://tempo.example.com", "https://tempo.example.com"),
        ("http://tempo.observability:3200/", "http://tempo.observability:3200"),
        (" https://grafana.example.com/tempo/ \n", "https://grafana.example.com/tempo"),
        ("http://[::1]:3200", "http://[::1]:3200"),
    ],
)
def test_tempo_url_is_an_http_url(value: str, expected: str) -> None:
    assert parse_url("tempoURL", value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("tempo:3200", "expected an http:// or https:// URL with a host"),
        ("tempo.example.com", "expected an http:// or https:// URL with a host"),
        ("ftp://tempo.example.com", "expected an http:// or https:// URL with a host"),
        ("http://", "expected an http:// or https:// URL with a host"),
        ("http://tempo:port", "not a URL (Port could not be cast to integer value"),
        ("http://[::1", "not a URL (Invalid IPv6 URL)"),
    ],
)
def test_a_malformed_tempo_url_says_why(value: str, reason: str) -> None:
    with pytest.raises(PlatformConfigError) as caught:
        parse_url("tempoURL", value)
    assert (caught.value.key, caught.value.value) == ("tempoURL", value)
    assert reason in caught.value.reason, caught.value.reason


# --- the whole ConfigMap ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [None, {}, {"memoryService": "", "tempoService": "  ", "tempoURL": ""}, {"other": "x"}]
)
def test_without_values_the_services_are_the_console_namespaces_as_before(
    data: dict[str, str] | None,
) -> None:
    found = platform_services(data)
    assert found.problems == ()
    assert found.services == PlatformServices()
    assert found.services.memory == ServiceRef("memory", "agentops-memory", 7437)
    assert found.services.tempo == ServiceRef("tempo", "tempo", 3200)


def test_the_chart_layout() -> None:
    """Memory beside the agents, Tempo in the release namespace."""
    found = platform_services(
        {
            "memoryService": "agentops-memory:7437",
            "tempoService": "agent-system/agentops-tempo:3200",
        }
    )
    assert found.problems == ()
    assert found.services.memory == ServiceRef("memory", "agentops-memory", 7437)
    assert found.services.tempo == ServiceRef("tempo", "agentops-tempo", 3200, "agent-system")


def test_tempo_url_comes_before_tempo_service() -> None:
    found = platform_services(
        {"tempoService": "observability/tempo:3200", "tempoURL": "https://tempo.example.com/"}
    )
    assert found.problems == ()
    assert found.services.tempo.url == "https://tempo.example.com"
    without_service = platform_services({"tempoURL": "https://tempo.example.com"}).services
    assert without_service.tempo == ServiceRef(
        "tempo", "tempo", 3200, url="https://tempo.example.com"
    )


def test_a_malformed_value_is_a_problem_and_its_default_is_used() -> None:
    found = platform_services(
        {"memoryService": "agentops-memory", "tempoService": "observability/Tempo:3200"},
        "agents/agentops-platform",
    )
    assert found.services == PlatformServices()
    assert found.problems == (
        FileProblem(
            "ConfigMap agents/agentops-platform",
            0,
            "memoryService",
            "'agentops-memory': expected NAME:PORT or NAMESPACE/NAME:PORT: the port is missing; "
            "using agentops-memory:7437",
            "warning",
        ),
        FileProblem(
            "ConfigMap agents/agentops-platform",
            0,
            "tempoService",
            "'observability/Tempo:3200': 'Tempo' is not a Service name (lowercase letters, "
            "digits and '-', starting with a letter, at most 63); using tempo:3200",
            "warning",
        ),
    )
    assert problem_line(found.problems[0]) == (
        "ConfigMap agents/agentops-platform memoryService: 'agentops-memory': expected "
        "NAME:PORT or NAMESPACE/NAME:PORT: the port is missing; using agentops-memory:7437"
    )


def test_a_malformed_tempo_url_falls_back_to_tempo_service() -> None:
    found = platform_services({"tempoService": "observability/tempo:3200", "tempoURL": "tempo"})
    assert found.services.tempo == ServiceRef("tempo", "tempo", 3200, "observability")
    (problem,) = found.problems
    assert problem.field == "tempoURL"
    assert problem.message == (
        "'tempo': expected an http:// or https:// URL with a host; "
        "using the Service observability/tempo:3200"
    )


# --- reading it ------------------------------------------------------------------------------


class OneConfigMap:
    """Kube.get of the ConfigMap: its body, or the failure."""

    def __init__(self, answer: dict[str, Any] | Exception | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str | None, str]] = []

    async def get(self, kind: Any, namespace: str | None, name: str) -> dict[str, Any] | None:
        self.asked.append((kind.kind, namespace, name))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def discovered(answer: dict[str, Any] | Exception | None) -> tuple[Any, OneConfigMap]:
    kube = OneConfigMap(answer)
    return await discover(cast(Kube, kube), "agents"), kube


async def test_the_config_map_of_the_console_namespace_is_read() -> None:
    body = {"data": {"tempoService": "agent-system/agentops-tempo:3200"}}
    found, kube = await discovered(body)
    assert kube.asked == [("ConfigMap", "agents", CONFIG_MAP_NAME)]
    assert found.services.tempo == ServiceRef("tempo", "agentops-tempo", 3200, "agent-system")
    assert found.problems == ()


@pytest.mark.parametrize(
    "answer",
    [
        None,  # Kube.get's 404
        KubeError(403, "Forbidden", 'configmaps "agentops-platform" is forbidden'),
        KubeError(404, "NotFound", "not found"),
        {"metadata": {"name": "agentops-platform"}},  # no data at all
    ],
)
async def test_without_the_config_map_or_the_right_to_read_it_the_defaults_silently(
    answer: dict[str, Any] | Exception | None,
) -> None:
    found, _kube = await discovered(answer)
    assert found.services == PlatformServices()
    assert found.problems == ()


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (KubeError(500, "InternalError", "etcd is down"), "etcd is down"),
        (ConnectionRefusedError("connection refused"), "connection refused"),
        (TimeoutError(), "TimeoutError"),
    ],
)
async def test_any_other_failure_is_a_problem_and_the_defaults(
    failure: Exception, said: str
) -> None:
    found, _kube = await discovered(failure)
    assert found.services == PlatformServices()
    (problem,) = found.problems
    assert problem.path == "ConfigMap agents/agentops-platform"
    assert problem.message == f"cannot be read ({said}); using the Services of agents"
    assert problem_line(problem).startswith("ConfigMap agents/agentops-platform: cannot be read")


# --- the route: the ref's namespace, its URL, the user's override first ----------------------


def test_the_override_url_names_the_services_own_namespace() -> None:
    config = {"tempo": "http://{name}.{namespace}.example:3200"}
    elsewhere = ServiceRef("tempo", "agentops-tempo", 3200, "agent-system")
    assert override_url(elsewhere, "agents", {}, config) == (
        "http://agentops-tempo.agent-system.example:3200"
    )
    assert override_url(ServiceRef.tempo(), "agents", {}, config) == (
        "http://tempo.agents.example:3200"
    )


async def test_the_platform_url_is_used_directly_unless_the_user_overrides_it() -> None:
    """No route through the cluster is tried (there is no client to try it with)."""
    external = ServiceRef("tempo", "tempo", 3200, url="https://tempo.example.com/")
    access = ServiceAccess(cast(Kube, None), "agents", env={}, config={})
    try:
        http = await access.client(external)
        assert str(http.base_url).rstrip("/") == "https://tempo.example.com"
        assert access.states == {"tempo": "direct https://tempo.example.com"}
    finally:
        await access.close()
    env = {"TEMPO_URL": "http://localhost:3200"}
    overridden = ServiceAccess(cast(Kube, None), "agents", env=env, config={})
    try:
        http = await overridden.client(external)
        assert str(http.base_url).rstrip("/") == "http://localhost:3200"
    finally:
        await overridden.close()


def test_refs_are_values() -> None:
    """Equal refs share one route; a namespace or URL makes another."""
    here = ServiceRef.tempo()
    assert here == ServiceRef("tempo", "tempo", 3200, None, None)
    assert hash(here) == hash(ServiceRef("tempo", "tempo", 3200))
    routes = {here: 1, ServiceRef("tempo", "tempo", 3200, "observability"): 2}
    routes[ServiceRef("tempo", "tempo", 3200, url="https://t")] = 3
    assert len(routes) == 3
