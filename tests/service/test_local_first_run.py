"""The first run of the embedded platform: samples that validate, a provider found on the
machine (environment, secrets file, an OpenAI-compatible server, a local Ollama) or the
offline demo, which a real runtime then plays with a real tool call."""

from __future__ import annotations

import socket
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from agentops_services.api.manifests import check_manifests
from agentops_services.api.runtime_config import RuntimeConfig
from agentops_services.api.v1alpha1 import Agent, Provider, Resource
from agentops_services.local.demo import (
    DEMO_URL,
    SCRIPT_FILE,
    configure_line,
    demo_script_yaml,
    use_scripted_models,
)
from agentops_services.local.detect import DETECTED_VARIABLES, Probes
from agentops_services.local.first_run import FirstRunReport, first_run
from agentops_services.local.paths import DataDir
from agentops_services.local.secrets import Secrets
from agentops_services.operator.builders.credentials import api_key_env
from agentops_services.operator.builders.runtime_config import build_runtime_config
from tests.fakes.ollama import EMBEDDING, FakeOllama, running
from tests.service.conftest import MemoryService, Received, prompt_stream, running_runtime

SAMPLES = ["agent-assistant.yaml", "agent-summarize.yaml"]
LLAMA = {"name": "llama3.2:latest", "family": "llama"}
QWEN = {"name": "qwen3:8b", "family": "qwen3"}


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine running the tests has, each test says which variables are set."""
    for name in DETECTED_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir.locate(tmp_path / "data", environ={}).create()


def _put_secret(data: DataDir, name: str, value: str) -> None:
    """Append a key to the secrets file, as the first run's hint tells a person to."""
    with data.secrets_file.open("a") as out:
        out.write(f"{name}={value}\n")
    data.secrets_file.chmod(0o600)


@pytest.fixture
def no_ollama() -> Probes:
    return Probes(ollama_url=closed_port_url())


@pytest.fixture
async def ollama() -> AsyncIterator[tuple[FakeOllama, str]]:
    fake = FakeOllama(models=[EMBEDDING, LLAMA, QWEN])
    async with running(fake) as url:
        yield fake, url


async def run(data: DataDir, probes: Probes) -> FirstRunReport:
    return await first_run(data, Secrets.load(data.secrets_file), probes)


def resources(data: DataDir) -> dict[str, Resource]:
    """Every resource in the folder, each file validated with zero problems."""
    found: dict[str, Resource] = {}
    for path in sorted(data.resources.iterdir()):
        reports, problems = check_manifests(path.read_text())
        assert problems == [], path
        for report in reports:
            assert (report.errors, report.warnings) == ([], []), path
            assert report.resource is not None
            found[report.resource.name] = report.resource
    return found


def folder(data: DataDir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data.resources.iterdir())}


def model_of(data: DataDir, agent: str = "assistant") -> str:
    resource = resources(data)[agent]
    assert isinstance(resource, Agent)
    return resource.spec.model


# --- the samples ------------------------------------------------------------------------------


async def test_with_nothing_configured_the_offline_demo_is_chosen_and_the_fix_is_one_line(
    data: DataDir, no_ollama: Probes
) -> None:
    report = await run(data, no_ollama)

    assert report.action == "created"
    assert report.demo
    assert report.provider is not None and report.provider.model_ref == "offline-demo/scripted"
    assert "no provider was found" in report.provider.reason
    assert report.configure_hint == configure_line(data.secrets_file)
    assert report.configure_hint == (
        f"(umask 077 && echo 'ANTHROPIC_API_KEY=sk-ant-…' >> {data.secrets_file})"
    )
    assert report.configure_hint in report.summary()
    assert "offline demo model" in report.summary()
    found = resources(data)
    assert sorted(found) == ["assistant", "offline-demo", "summarize"]
    demo = found["offline-demo"]
    assert isinstance(demo, Provider)
    assert demo.spec.endpoint is not None and demo.spec.endpoint.base_url == DEMO_URL
    assert sorted(p.name for p in report.written) == [*SAMPLES, "provider-offline-demo.yaml"]


async def test_the_samples_are_the_agents_the_issue_asks_for(
    data: DataDir, no_ollama: Probes
) -> None:
    await run(data, no_ollama)

    found = resources(data)
    assistant, summarize = found["assistant"], found["summarize"]
    assert isinstance(assistant, Agent) and isinstance(summarize, Agent)
    assert assistant.spec.mode == "daemon"
    assert assistant.spec.builtin_tools == ["read", "grep", "ls", "glob", "bash"]
    assert assistant.spec.memory is not None
    assert summarize.spec.mode == "task"
    assert summarize.spec.memory is None
    for path in data.resources.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


async def test_a_second_run_writes_nothing(data: DataDir, no_ollama: Probes) -> None:
    await run(data, no_ollama)
    before = folder(data)

    again = await run(data, no_ollama)

    assert again.action == "kept"
    assert again.written == ()
    assert folder(data) == before
    assert again.demo  # still on the demo: the console keeps showing the way out
    assert again.configure_hint == configure_line(data.secrets_file)


async def test_a_folder_with_resources_of_its_own_is_left_alone(
    data: DataDir, no_ollama: Probes
) -> None:
    mine = data.resources / "team" / "my-agent.yaml"
    mine.parent.mkdir()
    mine.write_text("# mine\n")

    report = await run(data, no_ollama)

    assert report == FirstRunReport("kept")
    assert list(data.resources.iterdir()) == [mine.parent]
    assert "own" in report.summary()


async def test_samples_deleted_on_purpose_are_not_written_again(
    data: DataDir, no_ollama: Probes
) -> None:
    await run(data, no_ollama)
    for path in data.resources.iterdir():
        path.unlink()

    report = await run(data, no_ollama)

    assert report.action == "kept"
    assert list(data.resources.iterdir()) == []


async def test_another_resources_folder_gets_its_own_samples(
    data: DataDir, no_ollama: Probes, tmp_path: Path
) -> None:
    await run(data, no_ollama)
    elsewhere = DataDir(data.root, tmp_path / "elsewhere")

    report = await run(elsewhere, no_ollama)

    assert report.action == "created"
    assert sorted(resources(elsewhere)) == ["assistant", "offline-demo", "summarize"]


# --- choosing the provider --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "model", "provider_type"),
    [
        (["ANTHROPIC_API_KEY"], "anthropic/claude-sonnet-4-5", "anthropic"),
        (["OPENAI_API_KEY"], "openai/gpt-4.1", "openai"),
        (["GEMINI_API_KEY"], "gemini/gemini-2.5-flash", "google"),
        (
            ["GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"],
            "anthropic/claude-sonnet-4-5",
            "anthropic",
        ),
        (["GEMINI_API_KEY", "OPENAI_API_KEY"], "openai/gpt-4.1", "openai"),
    ],
)
async def test_a_key_in_the_environment_picks_its_provider_in_order(
    data: DataDir,
    no_ollama: Probes,
    monkeypatch: pytest.MonkeyPatch,
    variables: list[str],
    model: str,
    provider_type: str,
) -> None:
    for name in variables:
        monkeypatch.setenv(name, f"secret-of-{name}")

    report = await run(data, no_ollama)

    assert report.provider is not None and report.provider.model_ref == model
    assert not report.demo and report.configure_hint is None
    assert model_of(data) == model
    assert model_of(data, "summarize") == model
    provider = resources(data)[model.partition("/")[0]]
    assert isinstance(provider, Provider) and provider.spec.type == provider_type
    secrets = Secrets.load(data.secrets_file)
    assert secrets.get(api_key_env(provider.name))  # the key it needs is the one found
    for path in data.resources.iterdir():
        assert "secret-of-" not in path.read_text()
    assert "secret-of-" not in report.summary() + repr(report)


async def test_a_key_in_the_secrets_file_counts_too(data: DataDir, no_ollama: Probes) -> None:
    _put_secret(data, "GEMINI_API_KEY", "AIzaFileKey")

    report = await run(data, no_ollama)

    assert report.provider is not None and report.provider.name == "gemini"
    assert "AIzaFileKey" not in "".join(p.read_text() for p in data.resources.iterdir())


async def test_openai_base_url_alone_uses_the_servers_first_chat_model(
    data: DataDir, no_ollama: Probes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeOllama(models=[EMBEDDING, QWEN, LLAMA])
    async with running(fake) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
        report = await run(data, no_ollama)

    assert report.provider is not None
    assert report.provider.model_ref == "openai-compatible/qwen3:8b"
    provider = resources(data)["openai-compatible"]
    assert isinstance(provider, Provider)
    assert provider.spec.type == "openaicompat" and provider.spec.api_key_secret is None
    assert provider.spec.endpoint is not None and provider.spec.endpoint.base_url == f"{url}/v1"
    assert fake.requests == [("/v1/models", None)]


async def test_openai_key_and_base_url_ask_that_server_with_the_key(
    data: DataDir, no_ollama: Probes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeOllama(models=[LLAMA], api_key="sk-local")
    async with running(fake) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
        report = await run(data, no_ollama)

    assert report.provider is not None and report.provider.model_ref == "openai/llama3.2:latest"
    provider = resources(data)["openai"]
    assert isinstance(provider, Provider) and provider.spec.type == "openaicompat"
    assert provider.spec.api_key_secret is not None
    assert provider.spec.api_key_secret.key == "OPENAI_API_KEY"
    assert fake.requests == [("/v1/models", "Bearer sk-local")]


@pytest.mark.parametrize("mistyped", [False, True], ids=["closed-port", "mistyped-port"])
async def test_an_openai_base_url_that_does_not_answer_is_passed_over_with_a_note(
    data: DataDir, no_ollama: Probes, monkeypatch: pytest.MonkeyPatch, mistyped: bool
) -> None:
    url = "http://127.0.0.1:80O0" if mistyped else closed_port_url()  # a letter O, not a 0
    monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")

    report = await run(data, no_ollama)

    assert report.demo
    assert len(report.passed_over) == 1 and "did not list its models" in report.passed_over[0]


async def test_a_local_ollama_is_found_and_an_installed_chat_model_picked(
    data: DataDir, ollama: tuple[FakeOllama, str]
) -> None:
    fake, url = ollama

    report = await run(data, Probes(ollama_url=url))

    assert report.provider is not None
    assert report.provider.model_ref == "ollama/llama3.2:latest"  # the embedding model is not
    assert "Ollama answers" in report.provider.reason
    provider = resources(data)["ollama"]
    assert isinstance(provider, Provider)
    assert provider.spec.endpoint is not None and provider.spec.endpoint.base_url == f"{url}/v1"
    assert fake.requests == [("/api/tags", None)]


async def test_a_key_wins_over_a_local_ollama(
    data: DataDir, ollama: tuple[FakeOllama, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = ollama
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")

    report = await run(data, Probes(ollama_url=url))

    assert report.provider is not None and report.provider.name == "openai"
    assert fake.requests == []  # not even asked


async def test_an_ollama_without_chat_models_falls_back_to_the_demo_and_says_why(
    data: DataDir,
) -> None:
    fake = FakeOllama(models=[EMBEDDING])
    async with running(fake) as url:
        report = await run(data, Probes(ollama_url=url))

    assert report.demo
    assert report.passed_over == (
        f"Ollama answers at {url} but has no chat model: ollama pull llama3.2",
    )


# --- leaving the demo -------------------------------------------------------------------------


async def test_untouched_demo_samples_switch_once_a_key_is_added(
    data: DataDir, no_ollama: Probes
) -> None:
    await run(data, no_ollama)
    _put_secret(data, "ANTHROPIC_API_KEY", "sk-ant-real")

    report = await run(data, no_ollama)

    assert report.action == "switched"
    assert report.provider is not None and report.provider.name == "anthropic"
    assert report.removed == (data.resources / "provider-offline-demo.yaml",)
    assert sorted(resources(data)) == ["anthropic", "assistant", "summarize"]
    assert model_of(data) == "anthropic/claude-sonnet-4-5"
    assert "now use anthropic/claude-sonnet-4-5" in report.summary()
    after = folder(data)
    assert (await run(data, no_ollama)).action == "kept"
    assert folder(data) == after


def edit_a_sample(data: DataDir) -> None:
    assistant = data.resources / "agent-assistant.yaml"
    assistant.write_text(assistant.read_text().replace("maxSteps: 30", "maxSteps: 40"))


def put_a_file_in_the_way(data: DataDir) -> None:
    (data.resources / "provider-anthropic.yaml").write_text("# someone's own\n")


@pytest.mark.parametrize("touch", [edit_a_sample, put_a_file_in_the_way])
async def test_samples_a_person_touched_are_never_switched(
    data: DataDir,
    no_ollama: Probes,
    monkeypatch: pytest.MonkeyPatch,
    touch: Callable[[DataDir], None],
) -> None:
    await run(data, no_ollama)
    touch(data)
    before = folder(data)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-real")

    report = await run(data, no_ollama)

    assert folder(data) == before
    if touch is edit_a_sample:  # the samples are the person's now: not ours to speak of
        assert report == FirstRunReport("kept")
    else:  # still the untouched demo samples: the report says why they stay on it
        assert report.action == "kept" and report.demo and report.provider is not None
        assert "provider-anthropic.yaml already exists" in report.provider.reason


# --- the demo, played by a real runtime -------------------------------------------------------


async def test_the_demo_answers_says_what_it_is_runs_ls_and_shows_the_way_out(
    data: DataDir, no_ollama: Probes, tmp_path: Path, memory: MemoryService
) -> None:
    await run(data, no_ollama)
    found = resources(data)
    agent, demo = found["assistant"], found["offline-demo"]
    assert isinstance(agent, Agent) and isinstance(demo, Provider)
    config = use_scripted_models(
        build_runtime_config(agent, {demo.name: demo}, {}, {}), {demo.name: demo}
    )
    assert config.memory is not None
    config = config.model_copy(
        update={"memory": config.memory.model_copy(update={"server_url": memory.url})}
    )
    runtime_dir = data.agent("assistant").create()
    (runtime_dir.root / SCRIPT_FILE).write_text(demo_script_yaml(data.secrets_file))
    (runtime_dir.workspace / "notes.md").write_text("hello\n")
    config_dict = RuntimeConfig.from_json(config.to_json()).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )

    async with running_runtime(
        runtime_dir.root, config_dict, workspace=runtime_dir.workspace
    ) as runtime:
        first = await prompt_stream(runtime.client, "hi, what can you do?")
        second = await prompt_stream(runtime.client, "and now?")

    def said(events: list[Received]) -> str:
        return "".join(e.data["delta"] for e in events if e.type == "text_delta")

    results = [e.data for e in first if e.type == "tool_result"]
    assert [r["tool_name"] for r in results] == ["ls"]
    assert "notes.md" in results[0]["output"] and results[0]["is_error"] is False
    assert "offline demo model" in said(first)
    assert configure_line(data.secrets_file) in said(first)
    assert "offline demo model" in said(second)
    assert configure_line(data.secrets_file) in said(second)
    finish = next(e.data for e in first if e.type == "agent_finish")
    assert "scripted" in finish["model"]


def config_using(base_url: str) -> tuple[RuntimeConfig, dict[str, Provider]]:
    """The config.json of an agent whose one Provider, `mine`, has `base_url`."""
    head = {"apiVersion": "agents.agentops.io/v1alpha1", "metadata": {"name": "mine"}}
    provider = Provider.model_validate(
        head
        | {"kind": "Provider", "spec": {"type": "openaicompat", "endpoint": {"baseURL": base_url}}}
    )
    agent = Agent.model_validate(
        head
        | {
            "kind": "Agent",
            "spec": {"mode": "daemon", "model": "mine/x", "providerRefs": [{"name": "mine"}]},
        }
    )
    providers = {"mine": provider}
    return build_runtime_config(agent, providers, {}, {}), providers


def test_a_scripted_url_other_than_the_demo_is_refused_by_name() -> None:
    config, providers = config_using("scripted://my-script")

    with pytest.raises(
        ValueError, match=r"Provider mine: .*scripted://my-script names no known script"
    ):
        use_scripted_models(config, providers)


def test_the_demo_becomes_a_scripted_entry_and_real_providers_pass_through() -> None:
    demo, demo_providers = config_using(DEMO_URL)
    real, real_providers = config_using("http://127.0.0.1:11434/v1")

    assert use_scripted_models(real, real_providers) == real
    scripted = use_scripted_models(demo, demo_providers).providers
    assert scripted is not None
    assert [(e.name, e.type, e.script) for e in scripted] == [("mine", "scripted", SCRIPT_FILE)]
