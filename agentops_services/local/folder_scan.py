"""One look at the resource folder: which YAML files there are and the bytes of those that
changed.

Cheap enough to run every second: a pass stats every file and reads only those whose
(mtime, size, inode) differ from the last pass. Bounded: at most `max_files` files are
considered and a file over `max_bytes` is not read. Hidden files and folders (`.git`, an
editor's `.x.yaml.swp`, our own temporary files) are skipped; symlinked folders are not
followed (a link to a parent would make the walk endless).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".yaml", ".yml")
StatKey = tuple[int, int, int]
"""(mtime in ns, size, inode): editors that save by rename change the inode."""


@dataclass
class Scan:
    stats: dict[str, StatKey] = field(default_factory=dict)
    """Every YAML file found, by path relative to the folder (with `/`)."""
    contents: dict[str, bytes | str] = field(default_factory=dict)
    """Files that changed since the last pass: their bytes, or why they could not be read."""
    truncated: bool = False
    """More than `max_files` files: the rest were not looked at."""
    missing: bool = False
    """The folder itself is not there (unmounted, moved): nothing can be said of its files."""


def scan_folder(root: Path, known: Mapping[str, StatKey], max_files: int, max_bytes: int) -> Scan:
    """Stat every YAML file under `root`; read those not in `known` with the same stat."""
    if not root.is_dir():
        return Scan(missing=True)
    scan = Scan()
    files = _yaml_files(root, max_files + 1)
    if len(files) > max_files:
        scan.truncated = True
        del files[max_files:]
    for rel, path in files:
        try:
            st = path.stat()
        except OSError:
            continue  # gone between listing and stat
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        scan.stats[rel] = key
        if known.get(rel) != key:
            scan.contents[rel] = read_limited(path, max_bytes)
    return scan


def read_limited(path: Path, max_bytes: int) -> bytes | str:
    """The file's bytes, or a message saying why not."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    if len(data) > max_bytes:
        return f"the file is larger than {max_bytes} bytes: not loaded"
    return data


def _yaml_files(root: Path, limit: int) -> list[tuple[str, Path]]:
    """Up to `limit` YAML files, sorted by relative path."""
    found: list[tuple[str, Path]] = []
    pending = [root]
    while pending and len(found) < limit:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or len(found) >= limit:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.name.endswith(SUFFIXES) and entry.is_file():
                    path = Path(entry.path)
                    found.append((path.relative_to(root).as_posix(), path))
            except OSError:
                continue
    found.sort()
    return found
