#!/usr/bin/env python3
"""Where a cold `asyncfix check` spends its CPU, stage by stage, in one process.

    python bench/stages.py TREE [--profile DIR] [--top N]

Run from anywhere; TREE is read, never written. The stages are the driver's, run one after
the other on one core (`time.process_time()`), as a parallel run makes them:

- discover and read: `.gitignore`-aware discovery, the project's layout, every file's bytes;
- registry: importing the codemods (libcst with them);
- index: `index_module` of the modules the plans index in any case (`INDEXES` tokens), and
  their prescreens' notes, as the workers do it before the plans (no automatic
  collection: see `workers.no_collections`);
- plans: each family's plans over that index, family by family, as a planning child
  makes them (a family's planners share their scans; no collection, as in the child);
- per file: `Pipeline.triage` and `rewrite_file` of every file, as a pool worker runs
  them: the worker's collector thresholds, each module's facts and prescreens' note handed
  over from the index (a worker never indexes a module again), no tree of the plans' left,
  a full collection after each parsed file, what survives it then frozen
  (`workers.free_parsed`).

Printed: each stage's CPU, the plans per family, the per-file stage split into the files
only screened and the files parsed by libcst, and the slowest files. `--profile DIR`
also writes a cProfile of each stage (`index.prof`, `plans.prof`, `files.prof`) for
`python -m pstats`. `--parses` counts Python's parses (`ast.parse`) by stage and caller,
and says for each file the per-file stage parses why its note did not spare it (the
per-file times then hold that question's own work). Not
part of the test suite; results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import gc
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from asyncfix import driver, syntax
from asyncfix.config import find_pyproject, load_config
from asyncfix.files import discover
from asyncfix.index import TREES, ModuleInfo, forget, index_module, remember
from asyncfix.parsing import may_chain_too_long
from asyncfix.workers import GC_THRESHOLDS, facts_blob, free_parsed, from_blob, no_collections

T = TypeVar("T")


class _Parses:
    """`ast.parse`, counted by stage and by caller (the three nearest frames); in the
    per-file stage, the files the depth guard parses whole."""

    def __init__(self) -> None:
        self.stage = ""
        self.file: str | None = None
        self.counts: Counter[tuple[str, str]] = Counter()
        self.files: Counter[str] = Counter()
        self.paused = False
        self._parse = ast.parse
        ast.parse = self.parse  # type: ignore[assignment]

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        if self.paused:
            return self._parse(*args, **kwargs)
        frame, chain = sys._getframe(1), []
        while frame is not None and len(chain) < 3:
            chain.append(f"{frame.f_globals.get('__name__')}.{frame.f_code.co_name}")
            frame = frame.f_back
        self.counts[(self.stage, " <- ".join(chain))] += 1
        if self.file is not None and "parsing.guard_depth" in chain[1]:  # (the whole file)
            self.files[self.file] += 1
        return self._parse(*args, **kwargs)

    def report(self, why: dict[str, str]) -> None:
        print("Python's parses, by stage and caller:")
        for (stage, caller), count in sorted(self.counts.items(), key=lambda i: -i[1]):
            print(f"  {stage:8} {count:6}  {caller}")
        print("files parsed whole in the per-file stage, by why their note did not spare it:")
        reasons = Counter(why[path] for path in self.files)
        for reason, count in reasons.most_common():
            print(f"  {count:6}  {reason}")


def _why_parsed(pipeline: Any, path: str, data: bytes, plans: Any, note: Any) -> str:
    """Why the rewriting worker parses this file: the note's answers that were not no."""
    if note is None:
        return "no note (not indexed by a worker, or a prescreen passes with no plan)"
    if may_chain_too_long(data):
        return "a long and/or chain (the depth guard reads the tree)"
    noted = pipeline.noted(path, data, note, plans)
    pipeline.walk_noted(path, data, note, plans, noted)
    open_ = sorted(f"{c.NAME}={a}" for c, a in noted.items() if a is not False)
    return "noted, undecided: " + ", ".join(open_) if open_ else "noted, all no"


def _timed(label: str, profile: Path | None, name: str, work: Callable[[], T]) -> tuple[T, float]:
    profiler = cProfile.Profile() if profile is not None else None
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    result = work()
    if profiler is not None:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(str(profile / f"{name}.prof"))
    spent = time.process_time() - started
    print(f"{label}: {spent:.2f} s")
    return result, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--profile", type=Path, metavar="DIR", help="write cProfiles here")
    parser.add_argument("--top", type=int, default=8, help="the slowest files to list")
    parser.add_argument("--parses", action="store_true", help="count Python's parses")
    args = parser.parse_args()
    parses = _Parses() if args.parses else None
    why: dict[str, str] = {}
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    # (the driver runs with these thresholds; the default ones would double every parse)
    gc.set_threshold(*GC_THRESHOLDS)
    tree = args.tree.resolve()
    config = load_config(find_pyproject(tree))

    def read() -> tuple[Any, ...]:
        real: dict[Path, str] = {}  # (as the driver does: the walk's resolved paths)
        named, _ = discover(
            [tree], config.exclude, base=config.root, force=config.force_exclude, real_paths=real
        )
        every, given, layout = driver._project([tree], named, config, real)
        return named, every, given, layout, driver._read_all(every)

    (named, every, given, layout, contents), _ = _timed("discover and read", None, "", read)
    run_config = replace(config, layout=layout)

    def registry() -> Any:
        from asyncfix.pipeline import Pipeline

        return Pipeline(run_config, None)

    pipeline, _ = _timed("registry (import the codemods)", None, "", registry)
    tokens = {token for planner in pipeline.planners() for token in planner.INDEXES}
    todo = [
        (f, d)
        for f in every
        if isinstance(d := contents[f.display], bytes) and any(t in d for t in tokens)
    ]

    notes: dict[str, Any] = {}

    def index() -> dict[str, ModuleInfo | None]:
        found = {}
        with no_collections():  # (as an indexing worker's chunk)
            for f, d in todo:
                info = found[f.display] = index_module(f, d)
                if info is not None:  # (the prescreens' note, while the tree is at hand)
                    notes[f.display] = pipeline.screen_note(f.display, d, info.tree)
        return found

    if parses is not None:
        parses.stage = "index"
    modules, _ = _timed(f"index ({len(todo)} modules)", args.profile, "index", index)
    blobs = {
        path: facts_blob(info, syntax.lowering_of(contents[path]))
        for path, info in modules.items()
        if info is not None
    }
    forget()  # (a planning child starts from the facts alone, as here)
    gc.collect(0)  # (what an indexing worker frees after its chunk)

    def plans() -> dict[str, dict[str, Any]]:
        from asyncfix.planning import combine_plans, plan_each

        families: dict[str, list[Any]] = {}
        for planner in pipeline.planners():
            families.setdefault(planner.FAMILY, []).append(planner)
        each: dict[str, Any] = {}
        with no_collections():  # (a planning child collects nothing: it exits when done)
            for family, planners in families.items():
                started = time.process_time()
                each.update(plan_each(pipeline, planners, every, contents, modules, given))
                # (printed before the plans' total, which _timed prints at the end)
                print(f"  plans of {family}: {time.process_time() - started:.2f} s")
        return combine_plans(pipeline, each)

    if parses is not None:
        parses.stage = "plans"
    made, _ = _timed("plans", args.profile, "plans", plans)

    def per_file() -> list[tuple[float, str, bool]]:
        from asyncfix.workers import _WORKER_TREE_LINES

        gc.set_threshold(*GC_THRESHOLDS)
        forget()  # (a pool worker starts with no trees: none the plans parsed here)
        TREES.budget = _WORKER_TREE_LINES
        gc.collect()
        gc.freeze()
        spent: list[tuple[float, str, bool]] = []
        for file in named:
            data = contents[file.display]
            if not isinstance(data, bytes):
                continue
            done, key = pipeline.triage(file, data, made.get(file.display))
            if done is not None:
                continue
            started = time.process_time()
            if file.display in blobs:
                remember(from_blob(blobs[file.display], data), data)
            note = notes.get(file.display)
            if parses is not None:  # (its own work is in the file's time, not its parses)
                parses.paused = True
                why[file.display] = _why_parsed(
                    pipeline, file.display, data, made.get(file.display), note
                )
                parses.paused, parses.file = False, file.display
            outcome = pipeline.rewrite_file(file, data, made.get(file.display), key, note=note)
            if parses is not None:
                parses.file = None
            if outcome.parsed:
                free_parsed()
            spent.append((time.process_time() - started, file.display, outcome.parsed))
        return spent

    if parses is not None:
        parses.stage = "files"
    spent, _ = _timed("per file", args.profile, "files", per_file)
    parsed = [s for s in spent if s[2]]
    screened = [s for s in spent if not s[2]]
    print(
        f"  screened only: {len(screened)} files, {sum(s[0] for s in screened):.2f} s; "
        f"parsed by libcst: {len(parsed)} files, {sum(s[0] for s in parsed):.2f} s"
    )
    for seconds, path, was_parsed in sorted(spent, reverse=True)[: args.top]:
        print(f"    {seconds:.2f} s  {path}{'  (parsed)' if was_parsed else ''}")
    if parses is not None:
        parses.report(why)


if __name__ == "__main__":
    main()
