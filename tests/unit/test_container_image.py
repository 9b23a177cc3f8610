"""The Dockerfile and .dockerignore, checked without a container engine: the two targets, who
they run as, what they run, what each final stage may contain, that every COPY names something
that exists (a stage, or a path the build context keeps), and that the wheel gets every file
pyproject.toml's build needs. tests/service/test_nonroot_readonly.py runs the services the way
the images do (UID 65532, read-only root filesystem)."""

from __future__ import annotations

import io
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
VENV_ENTRYPOINT = ["/opt/venv/bin/agentops"]
NONROOT = "65532:65532"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper case: FROM, RUN, COPY, ..."""
    args: str
    """The rest of the logical line, continuations joined, comment lines inside dropped."""
    line: int
    """Where it starts (1-based)."""


@dataclass
class Stage:
    base: str
    """The FROM image with the global ARGs' defaults substituted."""
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]


def instructions(text: str) -> list[Instruction]:
    """The logical instructions of a Dockerfile: dockerfile-parse joins continued lines and drops
    comment lines, also those inside a continued instruction, as BuildKit does."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    return [
        Instruction(entry["instruction"], " ".join(entry["value"].split()), entry["startline"] + 1)
        for entry in parser.structure
        if entry["instruction"] != "COMMENT"
    ]


def substitute(text: str, values: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced by their values (unknown names stay as they are)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def stages(parsed: list[Instruction]) -> tuple[dict[str, str], list[Stage]]:
    """(the global ARGs' defaults, the stages in order)."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for instruction in parsed:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--platform=")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) in (1, 3), f"line {instruction.line}: FROM {instruction.args}"
            found.append(Stage(substitute(words[0], global_args), name))
        elif not found:
            assert instruction.keyword == "ARG", f"line {instruction.line}: before the first FROM"
            key, _, default = instruction.args.partition("=")
            global_args[key] = default
        else:
            found[-1].instructions.append(instruction)
    return global_args, found


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.args)
    assert isinstance(value, list), f"line {instruction.line}: not the exec (JSON) form"
    assert all(isinstance(word, str) for word in value)
    return value


def _pairs(stage: Stage, name: str) -> dict[str, str]:
    """The stage's `NAME KEY=VALUE ...` instructions (ENV, LABEL) as one mapping."""
    pairs: dict[str, str] = {}
    for instruction in stage.all(name):
        for pair in shlex.split(instruction.args):
            key, sep, value = pair.partition("=")
            assert sep, f"line {instruction.line}: use {name} KEY=VALUE"
            pairs[key] = value
    return pairs


def env_of(stage: Stage) -> dict[str, str]:
    return _pairs(stage, "ENV")


def labels_of(stage: Stage) -> dict[str, str]:
    return _pairs(stage, "LABEL")


@dataclass(frozen=True)
class Copy:
    source_stage: str | None
    sources: list[str]
    destination: str
    instruction: Instruction


def copies(stage: Stage) -> list[Copy]:
    result = []
    for instruction in stage.all("COPY"):
        words = shlex.split(instruction.args)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        result.append(Copy(origin, paths[:-1], paths[-1], instruction))
    return result


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` (relative, with /) out of the context: the last
    pattern matching the path or one of its parent directories decides; `!` re-includes;
    `**` spans directories, `*`, `?` and `[...]` do not (Docker's rules)."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        body = body.strip("/")
        regex = ""
        for token in re.split(r"(\*\*/?|\*|\?|\[[^\]/]*\])", body):
            if token in ("**", "**/"):
                regex += "(?:.*/)?" if token == "**/" else ".*"
            elif token == "*":
                regex += "[^/]*"
            elif token == "?":
                regex += "[^/]"
            elif token.startswith("[") and len(token) > 2:
                regex += "[^/" + token[2:] if token.startswith(("[!", "[^")) else token
            else:
                regex += re.escape(token)
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return stages(instructions(DOCKERFILE.read_text()))


def by_name(found: list[Stage], name: str) -> Stage:
    named = [s for s in found if s.name == name]
    assert len(named) == 1, f"expected one stage named {name}, got {[s.name for s in found]}"
    return named[0]


def test_the_parser_joins_continuations_and_drops_comments() -> None:
    parsed = instructions(
        "# syntax=docker/dockerfile:1\nARG A=x\nFROM ${A} AS one\nRUN a \\\n"
        "    # a comment inside\n    && b\n\nENV K=v \\\n    L=w\n"
    )
    assert [(i.keyword, i.args, i.line) for i in parsed] == [
        ("ARG", "A=x", 2),
        ("FROM", "${A} AS one", 3),
        ("RUN", "a && b", 4),
        ("ENV", "K=v L=w", 8),
    ]
    global_args, found = stages(parsed)
    assert global_args == {"A": "x"}
    assert (found[0].base, found[0].name) == ("x", "one")
    assert env_of(found[0]) == {"K": "v", "L": "w"}


def test_both_targets_exist_and_agentops_is_the_default(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = dockerfile
    names = [s.name for s in found]
    assert {"build", "agentops", "agentops-runtime"} <= set(names)
    # `docker build .` without --target builds the last stage
    assert found[-1].name == "agentops"


def test_every_base_image_is_a_build_argument_with_a_default(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    """So a release pins bases by digest with --build-arg, without editing the file."""
    global_args, found = dockerfile
    text = DOCKERFILE.read_text()
    for written in re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE):
        assert re.fullmatch(r"\$\{\w+\}", written), f"FROM {written}: make it an ARG"
    assert global_args["DISTROLESS_IMAGE"].startswith("gcr.io/distroless/python3-debian12:nonroot")
    assert global_args["DEBIAN_IMAGE"].startswith("debian:12-slim")
    assert all("$" not in s.base for s in found)


@pytest.mark.parametrize("target", ["agentops", "agentops-runtime"])
def test_final_stages_run_the_entry_point_as_65532_in_the_virtualenv(
    dockerfile: tuple[dict[str, str], list[Stage]], target: str
) -> None:
    _, found = dockerfile
    stage = by_name(found, target)
    assert stage.last("USER").args == NONROOT
    # nothing after USER switches back
    keywords = [i.keyword for i in stage.instructions]
    assert "USER" not in keywords[keywords.index("USER") + 1 :]
    assert exec_form(stage.last("ENTRYPOINT")) == VENV_ENTRYPOINT
    env = env_of(stage)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["HOME"] == "/tmp"
    # the operator's pod specs say `command: ["agentops", ...]`: it must be on PATH
    assert env["PATH"].split(":")[0] == "/opt/venv/bin"
    venv = [c for c in copies(stage) if c.destination == "/opt/venv"]
    assert [(c.source_stage, c.sources) for c in venv] == [("build", ["/opt/venv"])]
    labels = labels_of(stage)
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.source"].startswith("https://github.com/")
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert any(i.args.split("=")[0] == "VERSION" for i in stage.all("ARG"))


def test_the_agentops_image_is_distroless_with_nothing_run_in_it(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = dockerfile
    stage = by_name(found, "agentops")
    assert stage.base.startswith("gcr.io/distroless/python3-debian12")
    assert [i.keyword for i in stage.instructions if i.keyword in ("RUN", "SHELL", "ADD")] == []
    assert exec_form(stage.last("CMD")) == ["--help"]


def test_the_runtime_image_has_the_shell_and_tools_of_the_bash_tool(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = dockerfile
    stage = by_name(found, "agentops-runtime")
    assert stage.base.startswith("debian:12")
    assert exec_form(stage.last("CMD")) == ["runtime"]
    installed = set()
    for run in stage.all("RUN"):
        for command in run.args.split("&&"):
            words = command.split()
            if words[:2] == ["apt-get", "install"]:
                assert "--no-install-recommends" in words
                installed |= {w for w in words[2:] if not w.startswith("-")}
        assert "rm -rf /var/lib/apt/lists/*" in run.args or "apt-get" not in run.args
    needed = "python3 bash coreutils grep sed findutils git ca-certificates curl jq tar gzip"
    assert set(needed.split()) <= installed
    # the bash tool's grep and glob run ripgrep; the image has it from the ripgrep wheel
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"ripgrep\b", d) for d in dependencies)
    users = " ".join(r.args for r in stage.all("RUN"))
    assert "useradd --uid 65532 --gid 65532" in users


def test_the_build_stage_installs_the_wheel_compiled_and_without_dev_extras(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = dockerfile
    build = by_name(found, "build")
    runs = " ".join(r.args for r in build.all("RUN"))
    assert "/usr/bin/python3.11 -m venv /opt/venv" in runs
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in runs
    assert "pip install --no-cache-dir --no-compile /wheels/agentops-*.whl" in runs
    assert " -e " not in runs and "[dev]" not in runs and "editable" not in runs
    assert "compileall" in runs and "unchecked-hash" in runs


def test_every_copy_names_an_earlier_stage_or_a_path_the_context_keeps(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = dockerfile
    patterns = dockerignore_patterns()
    for index, stage in enumerate(found):
        earlier = {s.name for s in found[:index]} | {str(i) for i in range(index)}
        for copy in copies(stage):
            where = f"line {copy.instruction.line}"
            if copy.source_stage is not None:
                assert copy.source_stage in earlier, f"{where}: no stage {copy.source_stage}"
                continue
            for source in copy.sources:
                path = REPO / source
                assert path.exists(), f"{where}: {source} is not in the repository"
                files = [path] if path.is_file() else sorted(path.rglob("*"))
                for file in files:
                    relative = file.relative_to(REPO).as_posix()
                    if file.is_file() and "__pycache__" not in relative:
                        assert not ignored(relative, patterns), f"{where}: {relative} ignored"


def test_the_copied_sources_are_everything_the_wheel_build_reads(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    """hatchling reads pyproject.toml, the readme, the packages, and the version file; no .git."""
    _, found = dockerfile
    copied = {
        s for c in copies(by_name(found, "build")) if c.source_stage is None for s in c.sources
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= set(project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    assert needed <= copied
    version_file = Path(project["tool"]["hatch"]["version"]["path"])
    assert version_file.parts[0] in copied
    assert "version" in project["project"]["dynamic"]


def test_the_context_leaves_out_everything_else() -> None:
    patterns = dockerignore_patterns()
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "benchmarks/x.py",
        "screenshots/console.png",
        "snapshot_report.html",
        "charts/agentops/Chart.yaml",
        "samples/agent.yaml",
        "agentops_services/__pycache__/__init__.cpython-311.pyc",
        "agentops_tui/.mypy_cache/x.json",
        "agentops_services/memory.db",
        "agentops_tui/stray.pyc",
    ):
        assert ignored(path, patterns), path
    for path in ("pyproject.toml", "README.md", "agentops_tui/app.tcss"):
        assert not ignored(path, patterns), path
