#!/usr/bin/env python3
"""A warm `asyncfix check` beside ruff's warm run with its own cache, in the same session.

    python bench/warm.py [--asyncfix NAME=PATH]... [--ruff PATH] [--runs 5] TREE...

Each TREE is copied to a temporary directory (nothing is written into it). There each
asyncfix (default: the one beside this Python) runs `check .` once to fill its cache, and
ruff `check --select ASYNC .` once to fill its own; then each runs `--runs` times more
over the unchanged tree. Printed: files, lines, and for each tool the median CPU time
(user + system, of the child process) and wall time of the warm runs, and asyncfix's
ratio to ruff. CPU time is the number to compare on a shared machine; wall time is noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def _timed(argv: Sequence[str], cwd: Path) -> tuple[float, float, int]:
    """(CPU seconds of the child, wall seconds, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, wall, proc.returncode


def _median(argv: Sequence[str], cwd: Path, runs: int) -> tuple[float, float, int]:
    _timed(argv, cwd)  # fills the cache
    results = [_timed(argv, cwd) for _ in range(runs)]
    cpu = statistics.median(r[0] for r in results)
    wall = statistics.median(r[1] for r in results)
    return cpu, wall, results[-1][2]


def _size(tree: Path) -> tuple[int, int]:
    files = lines = 0
    for path in tree.rglob("*.py"):
        if path.is_file():
            files += 1
            lines += path.read_bytes().count(b"\n")
    return files, lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument(
        "--asyncfix",
        action="append",
        metavar="NAME=PATH",
        help="an asyncfix executable to time (repeatable)",
    )
    parser.add_argument("--ruff", default=shutil.which("ruff") or "ruff")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    named = [v.split("=", 1) for v in args.asyncfix or []]
    variants = [(name, os.path.abspath(path)) for name, path in named] or [
        ("asyncfix", str(Path(sys.executable).parent / "asyncfix"))
    ]
    print("| tree | files | lines | run | CPU (median) | wall (median) | exit |")
    print("|---|---|---|---|---|---|---|")
    for tree in args.trees:
        files, lines = _size(tree)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / tree.name
            shutil.copytree(tree, copy, symlinks=True)
            ruff = [os.path.abspath(args.ruff), "check", "--select", "ASYNC", "."]
            rows = [("ruff --select ASYNC", _median(ruff, copy, args.runs))]
            for name, path in variants:
                rows.append((name, _median([path, "check", "."], copy, args.runs)))
        base_cpu, base_wall, _ = rows[0][1]
        for name, (cpu, wall, code) in rows:
            cpu_ratio = f" ({cpu / base_cpu:.1f}x)" if base_cpu and name != rows[0][0] else ""
            wall_ratio = f" ({wall / base_wall:.1f}x)" if name != rows[0][0] else ""
            print(
                f"| {tree.name} | {files} | {lines} | {name} | {cpu:.3f} s{cpu_ratio} "
                f"| {wall:.3f} s{wall_ratio} | {code} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
