#!/usr/bin/env python3
"""Prove a refactoring changes no output: run asyncfix over trees, save, compare.

    python bench/differential.py record REF TREE...    # before the change
    python bench/differential.py compare REF TREE...   # after it; exit 1 on any difference

Each command (by default `check --no-cache --output-format json .` and
`apply --dry-run --no-cache .`) runs with each TREE as its working directory, as a user
would run it there; nothing is written into the trees. Its stdout, stderr and exit code
are saved under REF/<tree name>/; the summary's run time (`; 1.23s`) is masked, since it
is the only part expected to differ. `compare` reruns the same commands and prints a
unified diff for each output that is not byte-identical to the saved one.

A tree inside the checkout being changed (testdata/) is part of that checkout's project:
the project index reads asyncfix's own source beside it, so moving a module changes the
input (a finding's reason can name a path in asyncfix/). `--copy-to DIR` runs each tree
from a fresh copy at DIR/<tree name> instead, the same path in both runs.

Not part of the test suite: the corpora are real projects fetched by hand (see
bench/corpus.py), and a run over all of them takes minutes.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

DEFAULT_COMMANDS = (
    "check --no-cache --output-format json .",
    "apply --dry-run --no-cache .",
)
# The summary line ends with the run's wall time, the one output that varies run to run.
_TIMING = re.compile(rb"^(asyncfix: .*); \d+\.\d\ds$", re.MULTILINE)


def slug(command: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_")


def run_command(asyncfix: str, command: str, tree: Path) -> dict[str, bytes]:
    proc = subprocess.run([asyncfix, *command.split()], cwd=tree, capture_output=True)
    return {
        "stdout": proc.stdout,
        "stderr": _TIMING.sub(rb"\1; <time>", proc.stderr),
        "rc": f"{proc.returncode}\n".encode(),
    }


def _outputs(
    asyncfix: str, commands: Sequence[str], trees: Sequence[Path]
) -> Iterator[tuple[Path, bytes]]:
    for tree in trees:
        for command in commands:
            print(f"{tree.name}: asyncfix {command}", file=sys.stderr, flush=True)
            for stream, data in run_command(asyncfix, command, tree).items():
                yield Path(tree.name) / f"{slug(command)}.{stream}", data


def record(ref: Path, asyncfix: str, commands: Sequence[str], trees: Sequence[Path]) -> int:
    return save_outputs(ref, _outputs(asyncfix, commands, trees))


def compare(ref: Path, asyncfix: str, commands: Sequence[str], trees: Sequence[Path]) -> int:
    return compare_outputs(ref, _outputs(asyncfix, commands, trees))


def save_outputs(ref: Path, outputs: Iterable[tuple[Path, bytes]]) -> int:
    """Save each (path under `ref`, output)."""
    for rel, data in outputs:
        (ref / rel).parent.mkdir(parents=True, exist_ok=True)
        (ref / rel).write_bytes(data)
    return 0


def compare_outputs(ref: Path, outputs: Iterable[tuple[Path, bytes]]) -> int:
    """Compare each (path under `ref`, output) with the one saved there: 1 when any
    differs (each difference printed as a unified diff)."""
    differing = 0
    for rel, data in outputs:
        saved = (ref / rel).read_bytes() if (ref / rel).exists() else None
        if saved == data:
            continue
        differing += 1
        print(f"DIFFERS: {rel}")
        before = (saved or b"").decode(errors="replace").splitlines(keepends=True)
        after = data.decode(errors="replace").splitlines(keepends=True)
        sys.stdout.writelines(difflib.unified_diff(before, after, f"ref/{rel}", f"now/{rel}"))
    print(f"{differing} output(s) differ" if differing else "all outputs byte-identical")
    return 1 if differing else 0


def parser_for(description: str) -> argparse.ArgumentParser:
    """The arguments a recording script takes: record or compare, where the outputs are
    saved, the trees, the asyncfix to run (bench/onefile.py takes them too)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("mode", choices=("record", "compare"))
    parser.add_argument("ref", type=Path, help="directory of the saved outputs")
    parser.add_argument("trees", type=Path, nargs="+", help="trees to run in (basenames unique)")
    parser.add_argument(
        "--asyncfix",
        default=str(Path(sys.executable).parent / "asyncfix"),
        help="the asyncfix executable (default: the one beside this Python)",
    )
    return parser


def unique_names(parser: argparse.ArgumentParser, trees: Sequence[Path]) -> None:
    if len({t.name for t in trees}) != len(trees):
        parser.error("tree basenames must be unique (outputs are saved by basename)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = parser_for(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--command",
        action="append",
        dest="commands",
        help="an asyncfix command line to run in each tree (repeatable)",
    )
    parser.add_argument(
        "--copy-to",
        type=Path,
        help="copy each tree to DIR/<tree name> (replacing it) and run there",
    )
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.trees]
    if args.copy_to is not None:
        copies = [args.copy_to.resolve() / t.name for t in trees]
        for tree, copy in zip(trees, copies, strict=True):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(tree, copy, symlinks=True)
        trees = copies
    unique_names(parser, trees)
    commands = args.commands or DEFAULT_COMMANDS
    action = record if args.mode == "record" else compare
    return action(args.ref.resolve(), args.asyncfix, commands, trees)


if __name__ == "__main__":
    sys.exit(main())
