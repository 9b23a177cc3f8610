r"""`secrets.env`: provider keys kept on disk for the embedded platform, readable only by their
owner.

The format is the familiar env file: `NAME=value` lines, `export NAME=value` accepted, `#`
comments and blank lines. A value is bare, in double quotes (escapes `\\`, `\"`, `\n`, `\r`,
`\t`) or in single quotes (taken literally); a ` #` after a bare or quoted value starts a
comment. When a name appears twice the later line wins, as in a shell, so a key can be
replaced by appending.

A file that group or others may read is refused, never silently read: the message names the
file, its mode and the one command that fixes it. A line that does not parse is an error
naming the file and line, never the line's text, which may hold a key.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")
_STARTS_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([^=\s]*)\s*=")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


class SecretsFileError(ValueError):
    """The secrets file cannot be used; the message says why and how to fix it."""


def shell_path(path: Path) -> str:
    """`path` as a person would type it in a shell: `~/…` under the home directory."""
    home = Path.home()
    if path.is_relative_to(home) and path != home:
        return "~/" + shlex.quote(str(path.relative_to(home)))
    return shlex.quote(str(path))


def setup_command(path: Path, variable: str, placeholder: str) -> str:
    """The one shell line that adds `variable` to the secrets file at `path`, created private
    (umask 077) so the key is never readable by others, not even before a chmod."""
    return f"(umask 077 && echo '{variable}={placeholder}' >> {shell_path(path)})"


@dataclass(frozen=True)
class _Line:
    number: int
    name: str
    value: str


def _quoted(text: str, number: int, where: Path) -> tuple[str, str]:
    """The value of a quoted `text` and what follows its closing quote."""
    quote, index = text[0], 1
    value: list[str] = []
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(value), text[index + 1 :]
        if quote == '"' and char == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            value.append(_ESCAPES.get(escaped, "\\" + escaped))
            index += 2
            continue
        value.append(char)
        index += 1
    raise _line_error(where, number, f"the {quote} quote is not closed (values are one line)")


def _value(text: str, number: int, where: Path) -> str:
    if text[:1] in ('"', "'"):
        value, rest = _quoted(text, number, where)
        if rest.strip() and not rest.strip().startswith("#"):
            raise _line_error(where, number, "text follows the closing quote")
        return value
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def _line_error(where: Path, number: int, what: str) -> SecretsFileError:
    return SecretsFileError(
        f"{where}, line {number}: {what}. Expected NAME=value "
        "(the line is not shown: it may hold a key)"
    )


def _parse_line(line: str, number: int, where: Path) -> _Line | None:
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    match = _ASSIGNMENT.fullmatch(line)
    if match is None:
        named = _STARTS_ASSIGNMENT.match(line)
        what = "the name is not a variable name" if named else "there is no ="
        raise _line_error(where, number, what)
    return _Line(number, match.group(1), _value(match.group(2), number, where))


def _lines(text: str) -> list[str]:
    """Lines end at a newline only (and a Windows editor's CR before it), not at the other
    separators str.splitlines knows, so a value holding one is kept whole."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_secrets(text: str, where: Path) -> dict[str, str]:
    """The variables of a secrets file's `text` (`where` names it in errors)."""
    values: dict[str, str] = {}
    for number, line in enumerate(_lines(text), start=1):
        parsed = _parse_line(line, number, where)
        if parsed is not None:
            values[parsed.name] = parsed.value
    return values


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise SecretsFileError(f"{path} is not a regular file; secrets are read only from one")
    if info.st_uid != os.geteuid():
        raise SecretsFileError(
            f"{path} belongs to uid {info.st_uid}, not to you (uid {os.geteuid()}), so its "
            f"secrets are not read. Fix it with: chown {os.geteuid()} {shell_path(path)}"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretsFileError(
            f"{path} has mode {mode:04o}: group or others may read it, so its secrets are not "
            f"read. Fix it with: chmod 600 {shell_path(path)}"
        )


def _read_private(path: Path) -> str | None:
    """The text of the file at `path` (None when there is none), refused unless it is a
    regular file of ours that only we may read."""
    try:
        _check_private(path, path.stat())
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            _check_private(path, info)  # the file opened is the file checked
            data = handle.read()
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise SecretsFileError(f"{path} cannot be read: {exc.strerror}") from None
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise SecretsFileError(f"{path} is not UTF-8 text") from None


def read_secrets_file(path: Path) -> dict[str, str]:
    """The variables of the secrets file at `path`; none when it does not exist."""
    text = _read_private(path)
    return parse_secrets(text, path) if text is not None else {}
