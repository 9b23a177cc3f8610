"""Writing files so a reader never sees half of one and private files are never readable by
others, not even for a moment.

Both writers go through a temporary file in the same directory, created with the final mode
(mkstemp opens it 0600, then it is narrowed or kept), filled and synced before it takes the
target's name: a crash leaves the old file or the new one, and a secret never sits in a
world-readable file while the mode is being fixed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def _filled_temporary(path: Path, data: bytes, mode: int) -> Path:
    """A synced temporary file next to `path` holding `data`, with `mode`."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def _sync_directory(directory: Path) -> None:
    """Make the new name durable, not only the content."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_file(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> None:
    """Write `data` to `path` atomically, replacing what is there."""
    temporary = _filled_temporary(path, data, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_directory(path.parent)


def create_file(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> bool:
    """Write `data` to `path` atomically unless `path` exists; False when it did (the file
    is then left exactly as it was). A hard link cannot replace a name, so a file a person
    creates meanwhile is never overwritten."""
    temporary = _filled_temporary(path, data, mode)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    _sync_directory(path.parent)
    return True
