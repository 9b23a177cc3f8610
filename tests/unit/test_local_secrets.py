"""Provider keys of the embedded platform: the secrets file (real files, real permissions),
which source wins, and which variables Providers still lack."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from agentops_services.api.v1alpha1 import Provider
from agentops_services.local.secrets import Secrets
from agentops_services.local.secrets_file import (
    SecretsFileError,
    read_secrets_file,
    setup_command,
)

KEY = "sk-ant-api03-Zq8vT1s3cr3t"
OTHER = "sk-proj-0therS3cret"


def private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def provider(metadata_and_spec: str) -> Provider:
    head = "apiVersion: agents.agentops.io/v1alpha1\nkind: Provider\nmetadata: "
    return Provider.model_validate(yaml.safe_load(head + metadata_and_spec))


# --- the file ---------------------------------------------------------------------------------


def test_a_private_file_is_read_with_comments_quotes_and_export(tmp_path: Path) -> None:
    path = private(
        tmp_path / "secrets.env",
        "# provider keys\n"
        "\n"
        f"ANTHROPIC_API_KEY={KEY}\n"
        f'export OPENAI_API_KEY="{OTHER}"  # the team key\n'
        "GEMINI_API_KEY='lit\\eral #not a comment'\n"
        'QUOTED="a \\"b\\" c\\\\d\\ne"\n'
        "  SPACED = padded value   # trailing comment\n"
        "EMPTY=\n",
    )

    assert read_secrets_file(path) == {
        "ANTHROPIC_API_KEY": KEY,
        "OPENAI_API_KEY": OTHER,
        "GEMINI_API_KEY": "lit\\eral #not a comment",
        "QUOTED": 'a "b" c\\d\ne',
        "SPACED": "padded value",
        "EMPTY": "",
    }


def test_a_missing_file_is_no_secrets(tmp_path: Path) -> None:
    assert read_secrets_file(tmp_path / "secrets.env") == {}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_may_read_is_refused_with_the_command_that_fixes_it(
    tmp_path: Path, mode: int
) -> None:
    path = private(tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={KEY}\n", mode)

    with pytest.raises(SecretsFileError) as caught:
        read_secrets_file(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"mode {mode:04o}" in message
    assert f"chmod 600 {path}" in message
    assert KEY not in message
    assert mode_of(path) == mode  # refused, not silently "fixed"


def test_after_the_chmod_the_same_file_is_read(tmp_path: Path) -> None:
    path = private(tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={KEY}\n", 0o644)
    with pytest.raises(SecretsFileError):
        read_secrets_file(path)

    path.chmod(0o600)

    assert read_secrets_file(path) == {"ANTHROPIC_API_KEY": KEY}


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = private(tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={KEY}\n")
    os.chown(path, 65534, 65534)

    with pytest.raises(SecretsFileError, match="belongs to uid 65534"):
        read_secrets_file(path)


def test_a_directory_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").mkdir(mode=0o700)

    with pytest.raises(SecretsFileError, match="not a regular file"):
        read_secrets_file(tmp_path / "secrets.env")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (KEY, "there is no ="),
        (f"ANTHROPIC-API-KEY={KEY}", "not a variable name"),
        (f'ANTHROPIC_API_KEY="{KEY}', "quote is not closed"),
        (f"ANTHROPIC_API_KEY='{KEY}' trailing{KEY}", "text follows the closing quote"),
    ],
)
def test_a_line_that_does_not_parse_names_file_and_line_but_never_the_value(
    tmp_path: Path, line: str, why: str
) -> None:
    path = private(tmp_path / "secrets.env", f"# keys\nOPENAI_API_KEY={OTHER}\n{line}\n")

    with pytest.raises(SecretsFileError) as caught:
        read_secrets_file(path)

    message = str(caught.value)
    assert f"{path}, line 3: " in message
    assert why in message
    assert KEY not in message
    assert OTHER not in message


def test_the_later_line_wins_as_in_a_shell(tmp_path: Path) -> None:
    path = private(
        tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={OTHER}\nANTHROPIC_API_KEY={KEY}\n"
    )

    assert read_secrets_file(path) == {"ANTHROPIC_API_KEY": KEY}


def test_windows_line_ends_are_read(tmp_path: Path) -> None:
    path = private(tmp_path / "secrets.env", f"A={KEY}\r\nB='{OTHER}'\r\n")

    assert read_secrets_file(path) == {"A": KEY, "B": OTHER}


def test_the_setup_line_creates_a_private_file_in_a_real_shell(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    line = setup_command(path, "ANTHROPIC_API_KEY", "sk-ant-…")
    assert line == f"(umask 077 && echo 'ANTHROPIC_API_KEY=sk-ant-…' >> {path})"

    subprocess.run(["sh", "-c", line], check=True)  # run as a person would paste it

    assert mode_of(path) == 0o600
    assert read_secrets_file(path) == {"ANTHROPIC_API_KEY": "sk-ant-…"}


# --- precedence and the Secrets value ---------------------------------------------------------


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = private(tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={KEY}\nOPENAI_API_KEY={OTHER}\n")

    secrets = Secrets.load(path, {"ANTHROPIC_API_KEY": "from-env", "PATH": "/bin"})

    assert secrets.get("ANTHROPIC_API_KEY") == "from-env"
    assert secrets.get("OPENAI_API_KEY") == OTHER
    assert secrets.get("GEMINI_API_KEY") is None


def test_an_empty_environment_variable_does_not_hide_the_file(tmp_path: Path) -> None:
    path = private(tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={KEY}\nOPENAI_API_KEY=\n")

    secrets = Secrets.load(path, {"ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": ""})

    assert secrets.get("ANTHROPIC_API_KEY") == KEY
    assert secrets.get("OPENAI_API_KEY") is None  # empty everywhere: no key


def test_the_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")

    secrets = Secrets.load(tmp_path / "secrets.env")

    assert secrets.get("ANTHROPIC_API_KEY") == "from-env"


def test_repr_and_str_name_variables_but_never_show_values(tmp_path: Path) -> None:
    path = private(tmp_path / "secrets.env", f"ANTHROPIC_API_KEY={KEY}\n")
    secrets = Secrets.load(path, {"OPENAI_API_KEY": OTHER})

    for shown in (repr(secrets), str(secrets), f"{secrets}", f"{[secrets]}"):
        assert KEY not in shown
        assert OTHER not in shown
        assert "ANTHROPIC_API_KEY" in shown


def test_a_path_under_home_is_shown_as_a_person_types_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / ".local" / "share" / "agentops" / "secrets.env"

    assert setup_command(path, "OPENAI_API_KEY", "sk-…") == (
        "(umask 077 && echo 'OPENAI_API_KEY=sk-…' >> ~/.local/share/agentops/secrets.env)"
    )
