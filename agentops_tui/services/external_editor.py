"""Editing text in the user's own editor, the way `kubectl edit` does.

The caller suspends the terminal UI (Textual's `App.suspend()`) around `run_editor`, which
blocks until the editor exits: the editor owns the terminal meanwhile.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_EDITOR = "vi"


class EditorError(Exception):
    """The editor could not be started or exited with an error. `text` is what the file held
    afterwards, so whatever the user wrote before the failure is not lost."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


def editor_command(env: Mapping[str, str]) -> list[str]:
    """The editor to run, as kubectl picks it: $KUBE_EDITOR, then $EDITOR, then `vi`; split
    like a shell would, so `code --wait` or `emacs -nw` work."""
    for variable in ("KUBE_EDITOR", "EDITOR"):
        words = shlex.split(env.get(variable, ""))
        if words:
            return words
    return [DEFAULT_EDITOR]


def run_editor(text: str, command: Sequence[str], name: str = "edit", suffix: str = ".yaml") -> str:
    """Write `text` to a private temp file, run `command` on it and return the file's text.

    The file ends in `suffix` so editors pick the right highlighting (YAML for objects,
    markdown for memories); `name` (e.g. `agent-reviewer`) goes into the file name so the user
    sees what they are editing.
    """
    handle, raw_path = tempfile.mkstemp(
        prefix=f"agentops-{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}-", suffix=suffix
    )
    path = Path(raw_path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            returncode = subprocess.run([*command, str(path)], check=False).returncode
        except OSError as exc:
            raise EditorError(f"cannot run editor {shlex.join(command)}: {exc}", text) from exc
        edited = path.read_text(encoding="utf-8")
        if returncode != 0:
            raise EditorError(
                f"editor {shlex.join(command)} exited with status {returncode}", edited
            )
        return edited
    finally:
        path.unlink(missing_ok=True)
