"""Running over many files: the worker processes, the parallel indexing, the forked
planning children, and the isolation of a file that kills its worker."""

from __future__ import annotations

import ast
import gc
import io
import pickle
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import is_dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from asyncfix import index, syntax
from asyncfix.cache import ResultCache, layout_digest
from asyncfix.config import Config
from asyncfix.files import SourceError, SourceFile
from asyncfix.index import TREES, ModuleInfo, forget, index_module, remember
from asyncfix.pipeline import FileOutcome, Pipeline, failed
from asyncfix.signals import Interrupted, as_child
from asyncfix.signals import kill_pool as _kill
from asyncfix.signals import stop_on_signals as _stop_on_signals

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from asyncfix.codemods.speed.notes import ScreenNote
    from asyncfix.project import Layout


# Parsing makes millions of small objects and almost no reference cycles: with Python's
# default thresholds the collector walks them over and over (a third of a libcst parse).
GC_THRESHOLDS = (50_000, 20, 20)
_WORKER_TREE_LINES = 5_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def no_collections() -> Iterator[None]:
    """No automatic collection inside: for work that makes many objects which live to its
    end (a module's tree while it is indexed) or are freed by reference counting, where a
    young-generation collection walks ~50k live objects to find next to no garbage
    (polar's server: ~50 ms each, over a second of a `-j 2` run's CPU in all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- running over many files -------------------------------------------------------------

_WORKER: Pipeline | None = None


def _init_worker(config: Config, cache: ResultCache | None = None) -> None:
    global _WORKER
    as_child()
    gc.set_threshold(*GC_THRESHOLDS)
    # A worker indexes one file at a time (prescreens, then transforms): the plans' budget
    # of asts would only keep files it is done with.
    TREES.budget = _WORKER_TREE_LINES
    _WORKER = Pipeline(config, cache=cache)
    gc.freeze()  # what the worker starts with (modules, codemods) is never garbage


def start_pool(jobs: int, config: Config, cache: ResultCache | None) -> ProcessPoolExecutor:
    # (multiprocessing, ~10 ms to import, only for a run that starts a pool)
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(config, cache))
    try:
        # A signal raised inside the fork's hooks is swallowed (lost): it only sets a flag.
        with _stop_on_signals():
            pool.submit(int)  # forks every worker now (the fork start method starts them all)
    except BaseException:
        # Stopped before the pool's thread runs, nothing would ever tell the workers to
        # stop, and the interpreter would wait for them at exit.
        _kill(pool)
        raise
    return pool


# A file for a worker: its bytes, its plans, its cache key (see Pipeline.triage), its
# facts, pickled, when a worker indexed it already (see index_apart and `facts_blob`), and
# what its prescreens said there (`Pipeline.screen_note`).
Task = tuple[
    SourceFile, bytes, dict[str, Any] | None, str | None, bytes | None, "ScreenNote | None"
]


def facts_blob(info: ModuleInfo, lowered: str | None = None) -> bytes:
    """What a worker indexing a module sends on: its facts without its bytes (the parent
    has them) or its tree (parsed again where needed), and the source lowered for this
    Python when `ast.parse` needed that (see syntax.lower): lowering costs several ast
    parses, and the plans and the file's rewrite each parse it again."""
    return pickle.dumps((replace(info, data=b""), lowered), pickle.HIGHEST_PROTOCOL)


def from_blob(blob: bytes, data: bytes) -> ModuleInfo:
    """The facts of `facts_blob`, with their bytes `data`; its lowered text is kept for
    `syntax.parse` in this process."""
    facts: tuple[ModuleInfo, str | None] = pickle.loads(blob)
    info, lowered = facts
    info.data = data
    if lowered is not None:
        syntax.remember_lowering(data, lowered)
    return info


# Classes a module's facts are made of, besides the ast's nodes and the dataclasses of
# asyncfix/index.py (whatever fields those gain).
_FACT_CLASSES = frozenset(
    {("asyncfix.files", "SourceFile"), ("builtins", "set"), ("builtins", "frozenset")}
    | {("builtins", "Ellipsis"), ("builtins", "complex")}
    | {("pathlib", n) for n in ("PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath")}
)


class _FactsUnpickler(pickle.Unpickler):
    """Facts read from the cache directory, which whoever can write there controls (a
    repository may commit one): only the classes facts are made of are found, so a
    crafted entry can at worst hold wrong facts about the code beside it, never run any."""

    def find_class(self, module: str, name: str) -> Any:
        found = None
        if module in ("ast", "_ast"):
            found = getattr(ast, name, None)
            found = found if isinstance(found, type) and issubclass(found, ast.AST) else None
        elif module == "asyncfix.index":
            found = getattr(index, name, None)
            found = found if isinstance(found, type) and is_dataclass(found) else None
        elif (module, name) in _FACT_CLASSES or (
            module.startswith("pathlib.") and ("pathlib", name) in _FACT_CLASSES  # (3.13)
        ):
            found = super().find_class(module, name)
        if found is None:
            raise pickle.UnpicklingError(f"not a class of facts: {module}.{name}")
        return found


def cached_facts(blob: bytes, file: SourceFile, data: bytes) -> ModuleInfo | None:
    """The facts of `file` (bytes `data`) from a cache entry's `facts_blob`; None when the
    entry does not hold them (made by a build of asyncfix whose classes differ, or
    crafted). Its SourceFile is this run's (the plans read beside it)."""
    try:
        info, lowered = _FactsUnpickler(io.BytesIO(blob)).load()
    except Exception:  # (any malformed pickle: a miss, never a crash)
        return None
    if not isinstance(info, ModuleInfo) or info.path != file.display:
        return None
    if lowered is not None and not isinstance(lowered, str):
        return None
    info.file = file
    info.data = data
    if lowered is not None:
        syntax.remember_lowering(data, lowered)
    return info


def _process_chunk(tasks: list[Task]) -> list[FileOutcome]:
    assert _WORKER is not None
    outcomes = []
    for file, data, plans, key, facts, note in tasks:
        if facts is not None:
            # The screens and codemods that index the module find it done: a fraction of
            # the cost of indexing it again.
            remember(from_blob(facts, data), data)
        outcomes.append(_WORKER.rewrite_file(file, data, plans, key, note=note))
        if outcomes[-1].parsed:
            free_parsed()
    return outcomes


def free_parsed() -> None:
    """After a file libcst parsed: a libcst tree with its scopes is a web of cycles that the
    raised thresholds would keep for many more files, so collect it now (stdlib peak: 755
    -> 698 MB). What survives (the index's caches, the modules imported since the worker
    started) is then frozen: a full collection walks every tracked object, and those
    survivors were most of each one's walk (polar's server: ~50k of ~60k objects)."""
    gc.collect()
    gc.freeze()


def _wait(future: Future[Any], stop: threading.Event) -> None:
    """Wait for `future`, looking every 0.1 s whether a signal asked the run to stop."""
    while not wait([future], timeout=0.1).done:
        if stop.is_set():
            raise Interrupted


def _chunks(files: list[Task], jobs: int) -> list[list[Task]]:
    size = max(1, min(64, len(files) // (jobs * 4) or 1))
    return [files[i : i + size] for i in range(0, len(files), size)]


def _index_chunk(
    files: list[tuple[SourceFile, bytes]],
) -> list[tuple[bytes, ScreenNote | None] | None]:
    """A worker's share of the project index (see `index_apart`): each module's
    `facts_blob`, and its prescreens' note while its tree is at hand (the worker that
    rewrites the file then parses it again only if a prescreen may pass)."""
    found: list[tuple[bytes, ScreenNote | None] | None] = []
    with no_collections():  # (the chunk's trees are dropped at its end: see forget)
        for file, data in files:
            info = index_module(file, data)
            if info is None:
                found.append(None)
                continue
            note = None
            if _WORKER is not None:
                try:
                    note = _WORKER.screen_note(file.display, data, info.tree)
                except Exception:  # (a prescreen's failure is the rewriting worker's)
                    note = None
            found.append((facts_blob(info, syntax.lowering_of(data)), note))
        forget()
    # The few cycles the chunk made are all young: freed here, before the plans (the
    # run's peak), whatever the next collection would have been.
    gc.collect(0)
    _give_back_heap()  # (the worker waits through the plans, the run's peak)
    return found


def _give_back_heap() -> None:
    """Return the free pages of the C heap to the system (glibc's `malloc_trim`; nothing
    elsewhere). Python frees what a parse and the screens made, but the C heap keeps the
    pages: an indexing worker held ~10 MB more than it used while the plans ran."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@cache
def _libc() -> Any:
    """The process's own symbols (libc's among them); None where there is no such handle.
    Loaded when first asked: only a run that indexes in workers trims."""
    import ctypes

    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):
        return None


Indexed = tuple[dict[str, ModuleInfo | None], dict[str, bytes]]


def to_index(
    pipeline: Pipeline, files: Sequence[SourceFile], contents: Mapping[str, bytes | SourceError]
) -> list[tuple[SourceFile, bytes]]:
    """The modules every plan indexes in any case: those holding a planner's `INDEXES`."""
    tokens = {token for planner in pipeline.planners() for token in planner.INDEXES}
    return [
        (file, data)
        for file in files
        if isinstance(data := contents[file.display], bytes) and any(t in data for t in tokens)
    ]


def cached_index(
    cache: ResultCache, todo: Sequence[tuple[SourceFile, bytes]], layout: str
) -> tuple[dict[str, ModuleInfo | None], dict[str, bytes], list[tuple[SourceFile, bytes]]]:
    """The facts of `todo` the result cache holds (see ResultCache.facts_key; `layout`:
    cache.layout_digest of the run's), pickled too (the workers' Task), and the modules
    it does not hold. An entry that cannot be read or unpickled is a miss."""
    found: dict[str, ModuleInfo | None] = {}
    pickled: dict[str, bytes] = {}
    missing = []
    for file, data in todo:
        blob = cache.get_facts(cache.facts_key(file, data, layout))
        info = cached_facts(blob, file, data) if blob else None
        if blob == b"":  # (stored for a module that does not parse)
            found[file.display] = None
        elif blob is not None and info is not None:
            found[file.display] = info
            pickled[file.display] = blob
        else:
            missing.append((file, data))
    return found, pickled, missing


def facts_lookup(cache: ResultCache, layout: Layout) -> index.Cached:
    """The result cache's facts of one module at a time, for a ProjectIndex that indexes
    what it is asked for (see ProjectIndex's `cached`): a run whose plans want a few
    modules looks up only those, not every module as cached_index does."""
    key: list[str] = []  # (the layout's digest: sorting and hashing every path, when asked)

    def cached(file: SourceFile, data: bytes) -> dict[str, ModuleInfo | None]:
        if not key:
            key.append(layout_digest(layout))
        return cached_index(cache, [(file, data)], key[0])[0]

    return cached


def index_here(todo: Sequence[tuple[SourceFile, bytes]]) -> Indexed:
    """`todo` indexed in this process (a few modules: no worker needed), with their
    `facts_blob`s; their trees stay for the plans."""
    found: dict[str, ModuleInfo | None] = {}
    pickled: dict[str, bytes] = {}
    for file, data in todo:
        info = found[file.display] = index_module(file, data)
        if info is not None:
            pickled[file.display] = facts_blob(info, syntax.lowering_of(data))
    return found, pickled


def store_index(
    cache: ResultCache,
    files: Sequence[tuple[SourceFile, bytes]],
    blobs: Mapping[str, bytes],
    layout: str,
) -> None:
    """Keep the facts of those of `files` that `blobs` holds (display path -> their
    `facts_blob`; empty for a module that does not parse) for the next run."""
    for file, data in files:
        blob = blobs.get(file.display)
        if blob is not None:
            cache.put_facts(cache.facts_key(file, data, layout), blob)


def blobs_of(
    modules: Mapping[str, ModuleInfo | None], pickled: Mapping[str, bytes]
) -> dict[str, bytes]:
    """What `store_index` stores of indexed `modules`, their `facts_blob`s `pickled`."""
    return {path: pickled.get(path, b"") for path in modules}


def index_apart(
    pool: ProcessPoolExecutor,
    pipeline: Pipeline,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    jobs: int,
    cache: ResultCache | None,
    todo: list[tuple[SourceFile, bytes]] | None = None,
) -> tuple[
    dict[str, ModuleInfo | None], dict[str, bytes], dict[str, ScreenNote], ProcessPoolExecutor
]:
    """The modules every plan indexes in any case (`to_index`, or `todo` when given),
    indexed by the workers, which wait for the plans anyway: each planning process would
    index them all again (they were most of a plan's time). Returns them, their facts
    still pickled for the workers that rewrite them, which would index them again too,
    their prescreens' notes (`Pipeline.screen_note`: the rewriting worker parses again
    only if a prescreen may pass), and the pool; a pool a worker died in is replaced, and
    the plans then index for themselves."""
    from concurrent.futures.process import BrokenProcessPool

    if todo is None:
        todo = to_index(pipeline, files, contents)
    found: dict[str, ModuleInfo | None] = {}
    pickled: dict[str, bytes] = {}
    notes: dict[str, ScreenNote] = {}
    if not todo:
        return found, pickled, notes, pool
    size = -(-len(todo) // (jobs * 4))  # (rounded up)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    with _stop_on_signals() as stop:
        futures = [pool.submit(_index_chunk, chunk) for chunk in chunks]
        try:
            for chunk, future in zip(chunks, futures, strict=True):
                _wait(future, stop)
                for (file, data), done in zip(chunk, future.result(), strict=True):
                    info = None
                    if done is not None:
                        facts, note = done
                        # (its lowered text, if any, kept here: the planning children
                        # fork from this process)
                        info = from_blob(facts, data)
                        pickled[file.display] = facts
                        if note is not None:
                            notes[file.display] = note
                    found[file.display] = info
        except Interrupted:
            _kill(pool)
            raise
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            return {}, {}, {}, start_pool(jobs, pipeline.config, cache)
    return found, pickled, notes, pool


def run_pool(
    pool: ProcessPoolExecutor,
    tasks: list[Task],
    config: Config,
    jobs: int,
    progress: Callable[[int, int], None] | None,
    stop: threading.Event,
    cache: ResultCache | None = None,
) -> list[FileOutcome]:
    from concurrent.futures.process import BrokenProcessPool

    outcomes: list[FileOutcome] = []
    done = 0
    lost: list[Task] = []  # the files of chunks whose worker died
    with pool:
        futures: list[tuple[list[Task], Future[list[FileOutcome]]]] = [
            (chunk, pool.submit(_process_chunk, chunk)) for chunk in _chunks(tasks, jobs)
        ]
        try:
            for chunk, future in futures:
                _wait(future, stop)
                try:
                    outcomes.extend(future.result())
                except BrokenProcessPool:
                    lost.extend(chunk)
                    continue
                except Exception as exc:  # a result that could not be sent back
                    message = f"worker failed: {type(exc).__name__}: {exc}"
                    outcomes.extend(failed(task[0], message) for task in chunk)
                done += len(chunk)
                if progress:
                    progress(done, len(tasks))
        except BaseException:
            _kill(pool)
            raise
    if lost:
        # A worker died (a crash in native code, the OOM killer...) and took the pool down
        # with it: redo the unfinished files one at a time to name the one that kills it.
        outcomes.extend(_isolate(lost, config, stop, cache))
        if progress:
            progress(len(tasks), len(tasks))
    return outcomes


WORKER_DIED = (
    "internal error: the worker process died while rewriting this file "
    "(a crash in native code, or out of memory); file left unchanged, please report this"
)


def _isolate(
    tasks: list[Task], config: Config, stop: threading.Event, cache: ResultCache | None
) -> list[FileOutcome]:
    """Process `tasks` in one worker, in order: when it dies, the file it was on is the
    culprit (reported, left unchanged) and a fresh worker takes the rest."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    outcomes: list[FileOutcome] = []
    while tasks:
        with ProcessPoolExecutor(1, initializer=_init_worker, initargs=(config, cache)) as pool:
            futures = [pool.submit(_process_chunk, [task]) for task in tasks]
            remaining: list[Task] = []
            try:
                for i, future in enumerate(futures):
                    _wait(future, stop)
                    try:
                        outcomes.extend(future.result())
                    except BrokenProcessPool:
                        outcomes.append(failed(tasks[i][0], WORKER_DIED))
                        remaining = tasks[i + 1 :]
                        break
                    except Exception as exc:
                        message = f"worker failed: {type(exc).__name__}: {exc}"
                        outcomes.append(failed(tasks[i][0], message))
            except BaseException:
                _kill(pool)
                raise
        tasks = remaining
    return outcomes
