#!/usr/bin/env python3
"""Prove a change leaves one-file runs as they were: `asyncfix check FILE`, as a pre-commit
hook runs it, on files of real projects; record before, compare after.

    python bench/onefile.py record REF TREE... [--files 8] [--file PATH...] [--copy-to DIR]
    python bench/onefile.py compare REF TREE... [--files 8] [--file PATH...] [--copy-to DIR]

Each TREE is copied to DIR/<tree name> (a temporary directory by default): the runs with
the result cache write `.asyncfix_cache/` there, and the edits below are made there. Of
its Python files (sorted by path), `--files` are taken, spread evenly, half from those
whose bytes hold `async` and half from the rest (a file with no async code is the common
commit that no plan should have to wait for); `--file PATH` (repeatable) adds the file at
PATH of each tree that has one (files with a fix, say). For each file, in order:

1. `check --no-cache --output-format json FILE` and `apply --dry-run --no-cache FILE`;
2. `check --output-format json FILE` with the copy's cache (filled by the runs before it);
3. a comment line appended to FILE (an edit), then `check --output-format json FILE` again
   (the project's facts cached, the file's result not); FILE's bytes are then put back.

Outputs (stdout, stderr with the run time masked, exit code) are saved and compared as
bench/differential.py does, under REF/<tree name>/<file>/.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from differential import (
    compare_outputs,
    parser_for,
    run_command,
    save_outputs,
    slug,
    unique_names,
)

NO_CACHE = ("check --no-cache --output-format json", "apply --dry-run --no-cache")
CACHED = "check --output-format json"


def pick(tree: Path, count: int, also: Sequence[Path] = ()) -> list[Path]:
    """`count` Python files of `tree` (relative), spread evenly over those holding `async`
    and those that do not, and those of `also` (relative paths) that `tree` has."""
    files = sorted(
        p.relative_to(tree)
        for p in tree.rglob("*.py")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(tree).parts)
    )
    with_async = [p for p in files if b"async" in (tree / p).read_bytes()]
    without = [p for p in files if p not in set(with_async)]
    half = count // 2
    picked = {*_spread(with_async, count - half), *_spread(without, half)}
    return sorted(picked | {p for p in also if (tree / p).is_file()})


def _spread(paths: Sequence[Path], count: int) -> list[Path]:
    if count <= 0 or not paths:
        return []
    step = len(paths) / count
    return sorted({paths[int(i * step)] for i in range(count)})


def _outputs(
    asyncfix: str, trees: Sequence[Path], count: int, also: Sequence[Path]
) -> Iterator[tuple[Path, bytes]]:
    for tree in trees:
        for file in pick(tree, count, also):
            where = Path(tree.name) / slug(str(file))
            for command in NO_CACHE:
                yield from _saved(asyncfix, f"{command} {file}", tree, where)
            yield from _saved(asyncfix, f"{CACHED} {file}", tree, where)
            original = (tree / file).read_bytes()
            try:
                (tree / file).write_bytes(original + b"\n# edited\n")
                yield from _saved(asyncfix, f"{CACHED} {file}", tree, where, "edited")
            finally:
                (tree / file).write_bytes(original)


def _saved(
    asyncfix: str, command: str, tree: Path, where: Path, tag: str = ""
) -> Iterator[tuple[Path, bytes]]:
    print(f"{tree.name}: asyncfix {command} {tag}", file=sys.stderr, flush=True)
    name = slug(f"{command.rsplit(' ', 1)[0]} {tag}")
    for stream, data in run_command(asyncfix, command, tree).items():
        yield where / f"{name}.{stream}", data


def main(argv: Sequence[str] | None = None) -> int:
    parser = parser_for(__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8, help="files per tree (default 8)")
    parser.add_argument(
        "--file",
        type=Path,
        action="append",
        default=[],
        dest="also",
        help="also this file, relative to a tree, where a tree has it (repeatable)",
    )
    parser.add_argument("--copy-to", type=Path, help="where the trees are copied (replaced)")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.trees]
    unique_names(parser, trees)
    with tempfile.TemporaryDirectory() as temporary:
        base = (args.copy_to or Path(temporary)).resolve()
        copies = [base / t.name for t in trees]
        for tree, copy in zip(trees, copies, strict=True):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(
                tree, copy, symlinks=True, ignore=shutil.ignore_patterns(".asyncfix_cache")
            )
        outputs = _outputs(args.asyncfix, copies, args.files, args.also)
        if args.mode == "record":
            return save_outputs(args.ref.resolve(), outputs)
        return compare_outputs(args.ref.resolve(), outputs)


if __name__ == "__main__":
    sys.exit(main())
