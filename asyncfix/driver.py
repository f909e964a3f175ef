"""Running the pipeline over the files of a run: discover and read them, serve a rerun
from the cache, make the plans, then process each file in this process or in workers
(see asyncfix/workers.py); `asyncfix/pipeline.py` is what happens to one file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncfix.cache import ResultCache, layout_digest
from asyncfix.config import Config
from asyncfix.files import SourceError, SourceFile, discover, read_bytes
from asyncfix.index import Cached, ModuleInfo, forget, use_layout
from asyncfix.pipeline import FileOutcome, Pipeline, RunResult, failed
from asyncfix.project import Layout, project_root, use_lock_memo
from asyncfix.quiet import codemod_free
from asyncfix.report import FileError, Finding, Summary
from asyncfix.shard import in_shard
from asyncfix.signals import Interrupted, close_pool
from asyncfix.signals import kill_pool as _kill
from asyncfix.signals import stop_on_signals as _stop_on_signals
from asyncfix.workers import (
    Task,
    blobs_of,
    cached_index,
    facts_lookup,
    fewer_collections,
    index_apart,
    index_here,
    run_pool,
    start_pool,
    store_index,
    to_index,
)

if TYPE_CHECKING:
    from asyncfix.codemods.speed.notes import ScreenNote

__all__ = [
    "IN_PROCESS_BYTES",
    "FileOutcome",
    "Pipeline",
    "ProjectView",
    "RunResult",
    "fix_of",
    "project_view",
    "run",
    "run_source",
]


def run(
    paths: Sequence[Path],
    config: Config,
    *,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cache: bool | ResultCache = False,
    shard: tuple[int, int] | None = None,
) -> RunResult:
    """Process every file under `paths`; outcomes come back sorted by path whatever `jobs`.

    `cache`: use the result cache (True: `.asyncfix_cache/` in the working directory).
    `shard` (K, N): process only the K-th of N stable parts of the files (1 <= K <= N);
    plans are still made over every file, so the shards' results combine.
    """
    try:
        with fewer_collections():
            return _run(paths, config, jobs, progress, cache, shard)
    finally:
        use_layout(None)  # the run's project: not the next caller's
        use_lock_memo(None)


def _project(
    paths: Sequence[Path],
    named: list[SourceFile],
    config: Config,
    real: dict[Path, str] | None = None,
) -> tuple[list[SourceFile], frozenset[str] | None, Layout]:
    """(every file of the project, the display paths of the `named` files when they are
    not all of them, the project's layout). Cross-file decisions see the whole project (the
    nearest pyproject.toml or .git above `paths`) even when only some of its files are
    given, as a pre-commit hook gives them: a rewrite that needs a change in a file not
    given is then refused (see ProjectIndex.outside). `real`: the resolved paths discover
    already knows (see discover's `real_paths`)."""
    root = project_root(paths)
    every = named
    # (os.path.realpath lstat()s every part of a path: once per file, 0.04 s on 1,800,
    # and not at all for a file discover found by walking)
    memo = {} if real is None else real

    def resolved(file: SourceFile) -> str:
        found = memo.get(file.path)
        if found is None:
            found = memo[file.path] = os.path.realpath(file.path)
        return found

    # (nothing given, nothing to change: no need to read the project)
    if named and root is not None and any(Path(os.path.realpath(p)) != root for p in paths):
        # (their errors too)
        whole, _ = discover([root], config.exclude, base=config.root, real_paths=memo)
        known = {resolved(f) for f in named}
        more = [f for f in whole if resolved(f) not in known]
        every = sorted([*named, *more], key=lambda f: f.display)
    given = frozenset(f.display for f in named) if len(every) > len(named) else None
    layout = Layout.of(root, [resolved(f) for f in every], memo)
    return every, given, layout


# A file this large keeps the parsers busy for seconds in native code, where no signal
# handler runs: it is parsed in a worker process, which a signal kills at once, and so are
# the plans of a run with such a file. (libcst parses ~100 KB a second on a loaded core.)
IN_PROCESS_BYTES = 64 * 1024


@dataclass(frozen=True)
class ProjectView:
    """The project around a buffer, as the language server keeps it warm: every file, their
    bytes (open buffers' text over the disk's), the facts indexed already (display path ->
    them), its layout."""

    files: Sequence[SourceFile]
    contents: Mapping[str, bytes | SourceError]
    modules: Mapping[str, ModuleInfo | None]
    layout: Layout


def project_view(file: SourceFile, config: Config) -> ProjectView:
    """The project around `file` as `run([file.path])` reads it (every file of the nearest
    pyproject.toml or .git above it, read when a plan needs it), for `run_source`."""
    every, _, layout = _project([file.path], [file], config)
    return ProjectView(every, {}, {}, layout)


def run_source(
    file: SourceFile,
    data: bytes,
    config: Config,
    suppress: Mapping[int, frozenset[str] | None] | None = None,
    project: ProjectView | None = None,
) -> RunResult:
    """`data` (stdin, an editor's buffer) through the pipeline as `run([file.path])` would
    take the file from disk, never cached, nothing written: planned over this file alone,
    or with `project`, over the whole project as the only file the run may change (a fix
    that needs another file changed is refused, as for `asyncfix apply FILE`).
    `suppress`: more suppressions, as if commented (the editor's fix of one finding)."""
    started = time.perf_counter()
    with fewer_collections():
        files: Sequence[SourceFile] = [file]
        contents: Mapping[str, bytes | SourceError] = {file.display: data}
        modules: Mapping[str, ModuleInfo | None] | None = None
        if project is not None:
            config = replace(config, layout=project.layout)
            known = any(f.display == file.display for f in project.files)
            files = project.files if known else [*project.files, file]
            contents, modules = {**project.contents, file.display: data}, project.modules
        from asyncfix.planning import make_plans

        pipeline = Pipeline(config)
        given = None if project is None else {file.display}
        plans = make_plans(pipeline, files, contents, modules, given)
        done, _ = pipeline.triage(file, data, plans.get(file.display))
        outcome = done or pipeline.rewrite_file(file, data, plans.get(file.display), None, suppress)
    return _result([outcome], [], started)


def fix_of(
    file: SourceFile,
    data: bytes,
    config: Config,
    finding: Finding,
    findings: Sequence[Finding],
    project: ProjectView | None = None,
) -> RunResult:
    """`finding`'s fix alone (`findings`: the file's, from a run over `data`): only its
    rule runs, suppressed on the other lines where it was found, as if each carried
    `# asyncfix: ignore[CODE]`: the rewrite is apply's with those comments."""
    others = {f.line for f in findings if f.code == finding.code} - {finding.line}
    only = config.with_overrides(select=[finding.code])
    suppress = {line: frozenset({finding.code}) for line in others}
    return run_source(file, data, only, suppress, project)


def _run(
    paths: Sequence[Path],
    config: Config,
    jobs: int | None,
    progress: Callable[[int, int], None] | None,
    cache: bool | ResultCache,
    shard: tuple[int, int] | None,
) -> RunResult:
    started = time.perf_counter()
    real: dict[Path, str] = {}
    named, errors = discover(
        paths, config.exclude, base=config.root, force=config.force_exclude, real_paths=real
    )
    every, given, layout = _project(paths, named, config, real)
    config = replace(config, layout=layout)
    contents = _read_all(every)
    files = named if shard is None else [f for f in named if in_shard(f.display, *shard)]
    result_cache = None
    if cache:
        result_cache = cache if isinstance(cache, ResultCache) else ResultCache.for_run(config)
        use_lock_memo(result_cache)  # (the lock files' packages, by their bytes)
    # A rerun over the same bytes is served whole, before the codemods are even imported.
    run_key = None
    readable = [(f, d) for f in every if isinstance(d := contents[f.display], bytes)]
    if result_cache is not None and len(readable) == len(every):
        run_key = result_cache.run_key(readable, shard, given)
        outcomes = _outcomes_from_cache(result_cache, run_key, files, contents)
        if outcomes is not None:
            return _result(outcomes, errors, started)

    # No codemod can act (the manifest says): none is imported, nor libcst.
    # (the plans' facts from the cache, as the full run would give them: see facts_lookup)
    cached = None if result_cache is None else facts_lookup(result_cache, layout)
    quiet = _codemod_free(config, files, every, contents, given, cached)
    pipeline = Pipeline(config, () if quiet else None, cache=result_cache)
    jobs = max(1, jobs or os.cpu_count() or 1)
    # The plans are made apart (see planning.plan_apart) on a project of more than a
    # handful of candidates, or with a file large enough to keep the parsers from signals.
    large = any(isinstance(d, bytes) and len(d) > IN_PROCESS_BYTES for d in contents.values())
    apart = not quiet and (large or (jobs > 1 and _candidates(pipeline, every, contents, jobs)))
    # The modules every plan indexes: their facts from the cache, the rest indexed now.
    # (any module a plan indexed in an earlier run, found in the cache, is given to the
    # plans as well: the same facts they would make)
    todo = [] if quiet else to_index(pipeline, every, contents)
    modules: dict[str, ModuleInfo | None] = {}
    facts: dict[str, bytes] = {}
    notes: dict[str, ScreenNote] = {}  # (made by the workers that index: see index_apart)
    missing, layout_key = todo, ""
    if result_cache is not None and not quiet:
        layout_key = layout_digest(layout)
        modules, facts, _ = cached_index(result_cache, readable, layout_key)
        missing = [(f, d) for f, d in todo if f.display not in modules]
    # A pool costs ~50 ms to start: worth it only for more than a handful of files to
    # index or to process (a pre-commit hook's one file in a project whose facts are
    # cached is neither). Its workers fork BEFORE the plans are made, while this process
    # is small: forked later, each would share (and, as it touches them, copy) the
    # project index's pages.
    pool = None
    if apart and (
        large or len(missing) >= 2 * jobs or _candidates(pipeline, files, contents, jobs)
    ):
        pool = start_pool(jobs, config, result_cache)
    try:
        # (no pool and no cache: the plans index for themselves, as many as they ask)
        if missing and (pool is not None or result_cache is not None):
            if pool is not None:
                found, pickled, notes, pool = index_apart(
                    pool, pipeline, every, contents, jobs, result_cache, missing
                )
            else:
                found, pickled = index_here(missing)
            if result_cache is not None:
                store_index(result_cache, missing, blobs_of(found, pickled), layout_key)
            modules.update(found)
            facts.update(pickled)
        plans: dict[str, dict[str, Any]] = {}
        if not quiet:
            from asyncfix.planning import plan_apart  # (forks: not for a run without codemods)

            # (the modules the plans index themselves, kept for the next run)
            indexed: dict[str, bytes] | None = None if result_cache is None else {}
            plans = plan_apart(
                pipeline,
                every,
                contents,
                apart=apart,
                jobs=jobs,
                modules=modules,
                given=given,
                indexed=indexed,
            )
            forget()  # (the trees of the modules indexed here: the plans are made)
            if result_cache is not None and indexed:
                store_index(result_cache, readable, indexed, layout_key)
        del modules  # the plans are made: no need for the facts beside the workers
        outcomes = []
        tasks: list[Task] = []
        for file in files:
            data = contents[file.display]
            if isinstance(data, SourceError):
                outcomes.append(failed(file, data.message, data.line, data.column))
                continue
            done, key = pipeline.triage(file, data, plans.get(file.display))
            if done is None:
                planned, note = plans.get(file.display), notes.get(file.display)
                tasks.append((file, data, planned, key, facts.get(file.display), note))
            else:
                outcomes.append(done)
        with _stop_on_signals() as stop:
            inline: list[Task] = []
            if pool is None or len(tasks) < 2 * jobs:
                inline = [t for t in tasks if pool is None or len(t[1]) <= IN_PROCESS_BYTES]
                for i, task in enumerate(inline, 1):
                    if stop.is_set():
                        raise Interrupted
                    file, data, plans_of_file, key, _, _ = task  # (a few files: indexed again)
                    outcomes.append(pipeline.rewrite_file(file, data, plans_of_file, key))
                    if progress:
                        progress(i, len(tasks))
                tasks = [t for t in tasks if pool is not None and len(t[1]) > IN_PROCESS_BYTES]
            if tasks:
                assert pool is not None
                rest = _shifted(progress, len(inline))
                outcomes.extend(run_pool(pool, tasks, config, jobs, rest, stop, result_cache))
    except BaseException:
        if pool is not None:
            _kill(pool)  # not merely shut down: a worker may be deep in a large file
            if result_cache is not None:
                result_cache.remove_temporaries()  # a killed worker may have been writing
            pool = None  # (killed: nothing left to close)
        raise
    finally:
        if pool is not None:
            close_pool(pool)
    if run_key is not None and result_cache is not None:
        result_cache.put_run(run_key, outcomes)
    return _result(outcomes, errors, started)


def _candidates(
    pipeline: Pipeline,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    jobs: int,
) -> bool:
    """Do at least 2 * `jobs` of `files` hold what some codemod matches?"""
    found = (
        d for f in files if isinstance(d := contents[f.display], bytes) and pipeline.may_match(d)
    )
    return len(list(islice(found, 2 * jobs))) == 2 * jobs


def _codemod_free(
    config: Config,
    files: Sequence[SourceFile],
    every: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    given: frozenset[str] | None,
    cached: Cached | None = None,
) -> bool:
    """Can the run do without the codemods (see asyncfix/quiet.py)? Asked of the registry's
    manifest: never when a test has put codemods of its own in the pipeline."""
    from asyncfix import codemods, pipeline

    if not (
        codemods.manifest_is_registry()
        and getattr(pipeline, "all_codemods", None) is codemods.all_codemods
        and getattr(pipeline, "resolve_selection", None) is codemods.resolve_selection
    ):
        return False
    enabled = codemods.resolve_selection(config.select, config.ignore)  # (Pipeline's errors)
    return codemod_free(config, enabled, files, contents, IN_PROCESS_BYTES, every, given, cached)


def _shifted(
    progress: Callable[[int, int], None] | None, offset: int
) -> Callable[[int, int], None] | None:
    """`progress` for the files after the first `offset`, which are done."""
    if progress is None or not offset:
        return progress
    return lambda done, total: progress(offset + done, offset + total)


def _read_all(files: Sequence[SourceFile]) -> dict[str, bytes | SourceError]:
    """Every file's bytes, read once: plans, cache keys and the workers all use them."""
    contents: dict[str, bytes | SourceError] = {}
    for file in files:
        try:
            contents[file.display] = read_bytes(file.path)
        except SourceError as exc:
            contents[file.display] = exc
    return contents


def _outcomes_from_cache(
    cache: ResultCache,
    key: str,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
) -> list[FileOutcome] | None:
    """The outcomes of an earlier run over exactly these bytes; None for a miss."""
    records = cache.get_run(key)
    if records is None:
        return None
    outcomes: list[FileOutcome] = []
    for file in files:
        data = contents[file.display]
        assert isinstance(data, bytes)
        outcome = FileOutcome(file, original=data)
        record = records.get(file.display)
        if record is not None and "key" in record:
            hit = cache.get(record["key"], file.display)
            if hit is None:
                return None  # an entry was pruned: do the run
            outcome.from_cache(hit, record["key"])
        elif record is not None:  # (not parsed in this run: `parsed` stays False)
            outcome.errors = [FileError(file.display, *e) for e in record["errors"]]
        outcomes.append(outcome)
    return outcomes


def _result(outcomes: list[FileOutcome], errors: list[FileError], started: float) -> RunResult:
    outcomes.sort(key=lambda o: o.file.display)
    summary = Summary(scanned=len(outcomes))
    for outcome in outcomes:
        summary.parsed += outcome.parsed and not outcome.cached  # (parsed in this run)
        summary.changed += outcome.changed
        summary.by_code.update(f.code for f in outcome.findings)
        if outcome.changed:
            summary.packages |= outcome.packages
        errors.extend(outcome.errors)
    errors.sort()
    summary.errors = len(errors)
    summary.seconds = time.perf_counter() - started
    return RunResult(outcomes, errors, summary)
