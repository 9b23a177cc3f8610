"""The first run: an empty resources folder gets sample agents and a Provider, so the console
opens on an agent that answers.

Call `first_run` at every start of the platform; it is idempotent:
- an empty folder (no YAML in it) never filled before gets the samples (samples.py), for the
  provider detect.py finds;
- samples written for the offline demo switch to a real provider once one is found (after
  the one line the report gives, and a restart), but only while every sample file is
  byte-for-byte what was written: a file a person edited, renamed or deleted makes the
  samples theirs, and they are never touched again;
- anything else is left alone: a folder with resources of its own, or one whose samples were
  deleted on purpose (first-run.json remembers what was written where).
Files are created without ever replacing one that exists (atomic.create_file).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentops_services.local.atomic import create_file, replace_file
from agentops_services.local.demo import configure_line
from agentops_services.local.detect import (
    ChosenProvider,
    Detection,
    Probes,
    detect_provider,
    offline_demo,
)
from agentops_services.local.paths import DataDir, make_private_dir
from agentops_services.local.samples import ASSISTANT, SUMMARIZE, sample_files
from agentops_services.local.secrets import Secrets

RESOURCE_FILE = 0o644
"""Sample resources hold no secrets; their folder is private."""

FirstRunAction = Literal["created", "switched", "kept"]


@dataclass(frozen=True)
class FirstRunReport:
    """What the first run did and, for the console, what to tell the person."""

    action: FirstRunAction
    """created: samples written; switched: samples moved from the demo to a real provider;
    kept: nothing written."""
    provider: ChosenProvider | None = None
    """The sample agents' provider; None when the folder holds the person's own resources."""
    written: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    passed_over: tuple[str, ...] = ()
    """Why candidate providers were not used (a server that did not answer, ...)."""
    configure_hint: str | None = None
    """On the demo: the one shell line that configures a real provider."""

    @property
    def demo(self) -> bool:
        """The sample agents run on the offline demo model."""
        return self.provider is not None and self.provider.demo

    def summary(self) -> str:
        """One or two sentences for the console."""
        if self.provider is None:
            return "The resources folder has resources of its own: no samples written."
        if self.demo:
            return (
                f"The sample agents {ASSISTANT} and {SUMMARIZE} run on the offline demo model, "
                f"because {self.provider.reason}. To use a real model: {self.configure_hint} "
                "then restart agentops."
            )
        verb = "now use" if self.action == "switched" else "use"
        return (
            f"The sample agents {ASSISTANT} and {SUMMARIZE} {verb} {self.provider.model_ref}, "
            f"because {self.provider.reason}."
        )


@dataclass(frozen=True)
class _Record:
    """first-run.json: which samples were written into which folder, for which provider."""

    resources: str
    provider: str
    demo: bool
    files: dict[str, str]
    """File name -> sha256 of the bytes written."""

    @classmethod
    def read(cls, path: Path) -> _Record | None:
        try:
            data: Any = json.loads(path.read_bytes())
            files = {str(k): str(v) for k, v in dict(data["files"]).items()}
            return cls(str(data["resources"]), str(data["provider"]), bool(data["demo"]), files)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def write(self, path: Path) -> None:
        body = {
            "resources": self.resources,
            "provider": self.provider,
            "demo": self.demo,
            "files": self.files,
        }
        replace_file(path, json.dumps(body, indent=2).encode() + b"\n")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _has_resources(folder: Path) -> bool:
    """Whether the folder holds any YAML (at any depth): then it is someone's."""
    return any(
        not path.name.startswith(".")
        for pattern in ("*.yaml", "*.yml")
        for path in folder.rglob(pattern)
    )


def _untouched(record: _Record, folder: Path) -> bool:
    """Every sample file is still exactly what was written."""
    for name, digest in record.files.items():
        try:
            if _digest((folder / name).read_bytes()) != digest:
                return False
        except OSError:
            return False
    return True


def _report(
    action: FirstRunAction, detection: Detection, data: DataDir, **paths: tuple[Path, ...]
) -> FirstRunReport:
    chosen = detection.chosen
    hint = configure_line(data.secrets_file) if chosen.demo else None
    return FirstRunReport(
        action, chosen, passed_over=detection.passed_over, configure_hint=hint, **paths
    )


def _create_samples(data: DataDir, detection: Detection) -> FirstRunReport:
    files = sample_files(detection.chosen, data.secrets_file)
    written: dict[str, str] = {}
    for name, text in files.items():
        if create_file(data.resources / name, text.encode(), RESOURCE_FILE):
            written[name] = _digest(text.encode())
    record = _Record(str(data.resources), detection.chosen.name, detection.chosen.demo, written)
    record.write(data.first_run_file)
    paths = tuple(data.resources / name for name in written)
    return _report("created", detection, data, written=paths)


def _switch_samples(data: DataDir, record: _Record, detection: Detection) -> FirstRunReport:
    """Rewrite the untouched demo samples for the real provider just found."""
    files = sample_files(detection.chosen, data.secrets_file)
    taken = [n for n in files if n not in record.files and (data.resources / n).exists()]
    if taken:
        why = (
            f"{detection.chosen.model_ref} was found, but {', '.join(taken)} already exists in "
            "the resources folder, so the samples were not switched"
        )
        return _report("kept", Detection(offline_demo(why), detection.passed_over), data)
    written: dict[str, str] = {}
    for name, text in files.items():
        replace_file(data.resources / name, text.encode(), RESOURCE_FILE)
        written[name] = _digest(text.encode())
    removed = tuple(data.resources / n for n in record.files if n not in files)
    for path in removed:
        path.unlink(missing_ok=True)
    _Record(record.resources, detection.chosen.name, False, written).write(data.first_run_file)
    paths = tuple(data.resources / name for name in written)
    return _report("switched", detection, data, written=paths, removed=removed)


async def first_run(
    data: DataDir, secrets: Secrets, probes: Probes | None = None
) -> FirstRunReport:
    """Write, switch or keep the sample resources of `data.resources` (see the module)."""
    make_private_dir(data.resources)
    record = _Record.read(data.first_run_file)
    if record is not None and record.resources != str(data.resources):
        record = None  # samples were written into another folder (--resources)
    if record is None:
        if _has_resources(data.resources):
            return FirstRunReport("kept")
        return _create_samples(data, await detect_provider(secrets, probes))
    if not record.demo or not _untouched(record, data.resources):
        return FirstRunReport("kept")
    detection = await detect_provider(secrets, probes)
    if detection.chosen.demo:
        return _report("kept", detection, data)
    return _switch_samples(data, record, detection)
