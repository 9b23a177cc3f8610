"""Built-in tools benchmark: grep for a regex over a 20,000-file, ~200 MB source tree, glob
`**/*.py` over it, and read of a 10 MB file, through the tools themselves (GrepTool, GlobTool,
ReadTool: ripgrep in its own process group, output capped, paths rewritten), so the figures are
what an agent waits for.

    .venv/bin/python benchmarks/tools_bench.py [--files 20000] [--megabytes 200] [--runs 5]

The tree is generated in a temporary directory from a fixed seed: nested packages of .py, .go,
.md and .txt files made of realistic lines, a `vendor/` subtree that .gitignore excludes (it
must not show up in results), and a sprinkling of lines the grep regex matches, few enough that
ripgrep has to search the whole tree rather than stop at the output cap. Timings are taken with
the tree in the page cache (the first run is reported apart), median of `--runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agentops_services.runtime.tooling import ToolContext, ToolOutcome
from agentops_services.runtime.tools.files import ReadTool
from agentops_services.runtime.tools.shell import GlobTool, GrepTool
from agentops_services.runtime.tools.workspace import Workspace

CONTEXT = ToolContext(call_id="bench", tool_name="bench", session_id="bench", emit=lambda _e: None)
GREP_REGEX = r"func \w+Cache\(|def \w+_cache\("
GREP_TARGET = 3.0
BIG_FILE_BYTES = 10 * 1024 * 1024
WORDS = (
    "request response handler client server config value index result error context "
    "session token buffer stream record entry batch queue worker event message payload user "
    "account order item price total count limit offset page cursor retry timeout deadline"
).split()


def ident(rng: random.Random, parts: int = 2) -> str:
    return "_".join(rng.choice(WORDS) for _ in range(parts))


def camel(rng: random.Random, parts: int = 2) -> str:
    return "".join(rng.choice(WORDS).capitalize() for _ in range(parts))


def python_lines(rng: random.Random, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        name = ident(rng)
        args = ", ".join(ident(rng, 1) for _ in range(rng.randint(1, 3)))
        lines += [
            f"def {name}({args}):",
            f'    """Return the {rng.choice(WORDS)} for the given {rng.choice(WORDS)}."""',
            f"    {ident(rng, 1)} = {ident(rng, 1)}.get({rng.choice(WORDS)!r}, {rng.randint(0, 99)})",
            f"    if {ident(rng, 1)} is None:",
            f"        raise ValueError('missing {rng.choice(WORDS)}')",
            f"    return {ident(rng, 1)} + {rng.randint(1, 1000)}",
            "",
        ]
    return lines


def go_lines(rng: random.Random, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        name = camel(rng)
        lines += [
            f"// {name} returns the {rng.choice(WORDS)} of the {rng.choice(WORDS)}.",
            f"func {name}(ctx context.Context, {ident(rng, 1)} string) (int, error) {{",
            f"\tif {ident(rng, 1)} == nil {{",
            f'\t\treturn 0, fmt.Errorf("no {rng.choice(WORDS)}: %w", err)',
            "\t}",
            f"\treturn len({ident(rng, 1)}) + {rng.randint(1, 1000)}, nil",
            "}",
            "",
        ]
    return lines


def prose_lines(rng: random.Random, count: int) -> list[str]:
    lines = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
        lines.append(" ".join(words).capitalize() + ".")
    return lines


GENERATORS: dict[str, Callable[[random.Random, int], list[str]]] = {
    ".py": python_lines,
    ".go": go_lines,
    ".md": prose_lines,
    ".txt": prose_lines,
}


def needle(rng: random.Random, suffix: str) -> str:
    """A line GREP_REGEX matches, in the file's language."""
    if suffix == ".go":
        return f"func {camel(rng)}Cache(key string) int {{ return len(key) }}"
    if suffix == ".py":
        return f"def {ident(rng)}_cache(key): return len(key)"
    return "Nothing to match in prose."


def generate(root: Path, files: int, total_bytes: int, seed: int = 7) -> dict[str, Any]:
    """The tree (`files` files, `total_bytes` in all, the 10 MB module included); returns what
    is in it and what grep and glob must find."""
    rng = random.Random(seed)
    pools = {suffix: "\n".join(make(rng, 4000)) + "\n" for suffix, make in GENERATORS.items()}
    big = root / "pkg00" / "big_module.py"
    big.parent.mkdir(parents=True)
    big.write_text(pools[".py"] * (BIG_FILE_BYTES // len(pools[".py"]) + 1))
    written = big.stat().st_size
    small = files - 1
    vendored = small // 10
    average = (total_bytes - written) // small
    suffixes = [".py", ".go", ".md", ".txt"]
    needles = python_files = ignored = 0
    for index in range(small):
        top = "vendor" if index < vendored else f"pkg{index % 20:02}"
        directory = root / top / f"mod{index % 97:02}" / f"part{index % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        suffix = suffixes[index % 4]
        pool = pools[suffix]
        size = rng.randint(average // 2, average * 3 // 2)
        start = pool.find("\n", rng.randrange(0, len(pool) - size - 1)) + 1
        text = pool[start : start + size]
        text = text[: text.rfind("\n") + 1]
        if suffix in (".py", ".go") and index % 25 == 0:
            text += needle(rng, suffix) + "\n"
            needles += top != "vendor"
        (directory / f"file_{index:05}{suffix}").write_text(text)
        written += len(text)
        ignored += len(text) if top == "vendor" else 0
        python_files += suffix == ".py" and top != "vendor"
    (root / ".gitignore").write_text("vendor/\n")
    return {
        "files": files,
        "bytes": written,
        "needles": needles,
        "vendored": vendored,
        "ignored_bytes": ignored,
        "python_files": python_files + 1,  # and big_module.py
        "big": big,
    }


async def timed(
    attempt: Callable[[], Awaitable[ToolOutcome]], runs: int
) -> tuple[float, float, ToolOutcome]:
    """(cold first run, median of `runs` warm ones, last outcome)."""
    started = time.perf_counter()
    outcome = await attempt()
    cold = time.perf_counter() - started
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = await attempt()
        samples.append(time.perf_counter() - started)
    if outcome.is_error:
        raise SystemExit(f"tool failed: {outcome.output[:500]}")
    return cold, statistics.median(samples), outcome


async def bench(root: Path, tree: dict[str, Any], runs: int) -> list[tuple[str, float, float, str]]:
    workspace = Workspace.create(root)
    grep, glob, read = GrepTool(workspace), GlobTool(workspace), ReadTool(workspace)
    rows = []

    cold, warm, outcome = await timed(lambda: grep.run({"pattern": GREP_REGEX}, CONTEXT), runs)
    matches = outcome.metadata["matchCount"]
    if matches != tree["needles"] or "vendor/" in outcome.output:
        raise SystemExit(
            f"grep found {matches} matches, expected {tree['needles']} outside vendor/"
        )
    label = f"grep regex over {tree['files']:,} files / {tree['bytes'] / 1e6:.0f} MB"
    rows.append((label, cold, warm, f"<= {GREP_TARGET:g} s"))

    cold, warm, outcome = await timed(lambda: glob.run({"pattern": "**/*.py"}, CONTEXT), runs)
    expected = tree["python_files"]
    if outcome.metadata["count"] != expected:
        raise SystemExit(f"glob found {outcome.metadata['count']} files, expected {expected}")
    rows.append((f"glob **/*.py ({expected:,} of {tree['files']:,} files)", cold, warm, "-"))

    big = tree["big"]
    path = str(big.relative_to(root))
    cold, warm, outcome = await timed(lambda: read.run({"path": path}, CONTEXT), runs)
    if outcome.metadata["lineCount"] != 2000:
        raise SystemExit(f"read returned {outcome.metadata['lineCount']} lines")
    megabytes = big.stat().st_size / 1024 / 1024
    rows.append((f"read of a {megabytes:.0f} MB file (first 2,000 lines)", cold, warm, "-"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tools-bench-") as directory:
        root = Path(directory)
        started = time.perf_counter()
        tree = generate(root, options.files, options.megabytes * 1_000_000)
        print(
            f"generated {tree['files']:,} files, {tree['bytes'] / 1e6:.0f} MB "
            f"in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs; "
            f"{tree['needles']} grep matches expected\n"
        )
        rows = asyncio.run(bench(root, tree, options.runs))
    print(f"| Operation | Median of {options.runs} (warm) | First run | Target |")
    print("|---|---|---|---|")
    for label, cold, warm, target in rows:
        print(f"| {label} | {warm:.2f} s | {cold:.2f} s | {target} |")
    print(
        f"\ngrep and glob skip vendor/ as .gitignore says ({tree['vendored']:,} files, "
        f"{tree['ignored_bytes'] / 1e6:.0f} MB); grep found all {tree['needles']} matches."
    )


if __name__ == "__main__":
    main()
