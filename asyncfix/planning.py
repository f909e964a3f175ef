"""The plans: each planning codemod's instructions for the files of a run, made over the
project index (see AsyncfixCodemod.plan), here or in forked children (`plan_apart`)."""

from __future__ import annotations

import gc
import inspect
import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asyncfix import syntax
from asyncfix.codemods.catalog import holds_any
from asyncfix.config import Config
from asyncfix.files import SourceError, SourceFile
from asyncfix.index import TREES, ModuleInfo, ProjectIndex, forget
from asyncfix.pipeline import Pipeline
from asyncfix.signals import Interrupted, as_child
from asyncfix.signals import stop_on_signals as _stop_on_signals

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from asyncfix.codemods.base import AsyncfixCodemod


def make_plans(
    pipeline: Pipeline,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError] | None = None,
    modules: Mapping[str, ModuleInfo | None] | None = None,
    given: Collection[str] | None = None,
    indexed: dict[str, bytes] | None = None,
) -> dict[str, dict[str, Any]]:
    """display path -> {codemod name: its instructions}, from the planning codemods.
    `contents`: the files' bytes when the caller has read them already; `modules`:
    facts of some of them, indexed already (see workers.index_apart); `given`: the files
    the run may change when not all of `files` (see ProjectIndex.outside); `indexed`:
    see plan_each."""
    planners = reaching(pipeline.planners(), given, contents)
    each = plan_each(pipeline, planners, files, contents, modules, given, indexed)
    return combine_plans(pipeline, each)


def reaching(
    planners: Sequence[type[AsyncfixCodemod]],
    given: Collection[str] | None,
    contents: Mapping[str, bytes | SourceError] | None,
) -> list[type[AsyncfixCodemod]]:
    """The `planners` whose plan may name one of the `given` files: a run given some of
    the project's files reports on those alone, so a plan that can name none of them (see
    AsyncfixCodemod.PLAN_REACH) is not made. All of them when every file is given."""
    if given is None or contents is None:
        return list(planners)
    held = [data for path in given if isinstance(data := contents.get(path), bytes)]
    return [
        planner
        for planner in planners
        if planner.PLAN_REACH is None or holds_any(held, planner.PLAN_REACH)
    ]


def plan_each(
    pipeline: Pipeline,
    planners: Sequence[type[AsyncfixCodemod]],
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError] | None = None,
    modules: Mapping[str, ModuleInfo | None] | None = None,
    given: Collection[str] | None = None,
    indexed: dict[str, bytes] | None = None,
) -> dict[str, Mapping[str, Any]]:
    """codemod name -> its plan (display path -> instructions), for `planners`.
    `indexed`: filled with the modules the plans indexed themselves (not in `modules`),
    display path -> their `workers.facts_blob` (empty: does not parse), for the cache."""
    if not planners:
        return {}
    index = ProjectIndex(files, contents, given)
    index.add(modules or {})
    try:
        each = _plan_each(pipeline, planners, files, index)
        if indexed is not None:
            indexed.update(_indexed_here(index, modules or {}))
        return each
    finally:
        forget()  # the trees and facts are the plans' alone


def _indexed_here(index: ProjectIndex, given: Mapping[str, ModuleInfo | None]) -> dict[str, bytes]:
    from asyncfix.workers import facts_blob  # (it imports this module's callers' pool)

    return {
        path: b"" if info is None else facts_blob(info, syntax.lowering_of(info.data))
        for path, info in index.facts().items()
        if path not in given
    }


def _plan_each(
    pipeline: Pipeline,
    planners: Sequence[type[AsyncfixCodemod]],
    files: Sequence[SourceFile],
    index: ProjectIndex,
) -> dict[str, Mapping[str, Any]]:
    outside = sealed_tests(index, files, pipeline.config)
    return {
        c.NAME: _plan_of(c, index if c.IN_TESTS else outside, pipeline.config, pipeline.enabled)
        or {}
        for c in planners
    }


def sealed_tests(index: ProjectIndex, files: Sequence[SourceFile], config: Config) -> ProjectIndex:
    """The index the plans of codemods that do not run on test code read: there test code
    is read but may not change, as a file not given: a plan that needs a change there (a
    handler a conftest.py registers, a test reading a client that moves) is refused, never
    half made."""
    tests = {f.display for f in files if config.in_test_code(f.display)}
    return index.sealed(tests) if tests else index


def combine_plans(
    pipeline: Pipeline, each: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The plans per file, in the pipeline's order whatever order `each` came in."""
    plans: dict[str, dict[str, Any]] = {}
    for codemod in pipeline.planners():
        for path, data in each.get(codemod.NAME, {}).items():
            plans.setdefault(path, {})[codemod.NAME] = data
    return plans


def _plan_of(
    codemod: type[AsyncfixCodemod], index: ProjectIndex, config: Config, enabled: frozenset[str]
) -> Mapping[str, Any] | None:
    """The codemod's plan, told the run's rule codes when its plan() takes them (see
    AsyncfixCodemod.plan); a plan() of two parameters reads the configuration alone."""
    plan: Callable[..., Mapping[str, Any] | None] = codemod.plan
    if "enabled" in inspect.signature(plan).parameters:
        return plan(index, config, enabled=enabled)
    return plan(index, config)


# What a planning child works on; set just before it forks (see plan_apart).
_PLANNING: (
    tuple[
        Pipeline,
        Sequence[SourceFile],
        Mapping[str, bytes | SourceError],
        Mapping[str, ModuleInfo | None],
        Collection[str] | None,
        bool,
    ]
    | None
) = None


def plan_apart(
    pipeline: Pipeline,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    *,
    apart: bool,
    jobs: int = 1,
    modules: Mapping[str, ModuleInfo | None] | None = None,
    given: Collection[str] | None = None,
    indexed: dict[str, bytes] | None = None,
) -> dict[str, dict[str, Any]]:
    """The plans; `apart`: made in forked children that exit when done, up to `jobs` of
    them, each making the plans of some codemods. The project index peaks at a few
    hundred MB on a large tree, and memory Python has freed stays with the process that
    used it: made here, it would sit beside the workers all run. `modules`: facts indexed
    already (see `index_apart`); `given`, `indexed`: see make_plans."""
    global _PLANNING
    import multiprocessing  # (~10 ms to import: not for a run that makes no plan)

    if not apart or "fork" not in multiprocessing.get_all_start_methods():
        return make_plans(pipeline, files, contents, modules, given, indexed)
    groups = plan_groups(reaching(pipeline.planners(), given, contents), jobs)
    if not groups:
        return {}
    # The children inherit them: nothing is pickled.
    _PLANNING = (pipeline, files, contents, modules or {}, given, indexed is not None)
    context = multiprocessing.get_context("fork")
    children: list[tuple[BaseProcess, Connection]] = []
    each: dict[str, Mapping[str, Any]] = {}
    # Signals only set a flag here: raised inside the fork, they could leave a child that
    # nobody kills, planning on and holding the caller's pipes.
    with _stop_on_signals() as stop:
        try:
            for group in groups:
                receiver, sender = context.Pipe(duplex=False)
                started = context.Process(
                    target=_planned, args=(sender, group, len(groups)), daemon=True
                )
                started.start()
                sender.close()
                children.append((started, receiver))
            for child, receiver in children:
                while not receiver.poll(0.05):  # (a child that died makes it readable too)
                    if stop.is_set():
                        raise Interrupted
                try:
                    made, plans = receiver.recv()
                except EOFError:
                    child.join()
                    raise RuntimeError(
                        f"the planning process died (exit code {child.exitcode})"
                    ) from None
                if not made:
                    raise plans
                plans, more = plans
                each.update(plans)
                if indexed is not None:
                    indexed.update(more)
        finally:
            _PLANNING = None
            for process, _ in children:
                if process.is_alive():
                    process.kill()
                process.join()
    return combine_plans(pipeline, each)


def plan_groups(
    planners: Sequence[type[AsyncfixCodemod]], jobs: int
) -> list[list[type[AsyncfixCodemod]]]:
    """The planners dealt out to at most `jobs` processes: a family's stay together (they
    share their scans of the project), in the deal whose most loaded process costs least
    (by PLAN_COST). A handful of families: every deal is tried (a greedy one, costliest
    family first to the least loaded process, left the slower planning child a tenth more
    than it needs on the measured costs)."""
    families: dict[str, list[type[AsyncfixCodemod]]] = {}
    for planner in planners:
        families.setdefault(planner.FAMILY, []).append(planner)
    if not families:
        return []
    costs = [sum(c.PLAN_COST for c in family) for family in families.values()]
    count = min(max(1, jobs), len(costs))
    best: tuple[int, ...] = (0,) * len(costs)
    least = sum(costs)
    # (the first family's process is the first: the deals differ in more than their order)
    for rest in itertools.product(range(count), repeat=len(costs) - 1):
        deal = (0, *rest)
        loads = [0.0] * count
        for where, cost in zip(deal, costs, strict=True):
            loads[where] += cost
        if max(loads) < least - 1e-9:
            best, least = deal, max(loads)
    groups: list[list[type[AsyncfixCodemod]]] = [[] for _ in range(count)]
    for where, family in zip(best, families.values(), strict=True):
        groups[where] += family
    return [group for group in groups if group]


def _planned(sender: Connection, planners: Sequence[type[AsyncfixCodemod]], children: int) -> None:
    """A planning child: sends (True, (plans of `planners`, the modules they indexed
    when the parent keeps them: see plan_each)) or (False, the exception)."""
    as_child()  # the parent decides, as for the workers
    # The planning children share the memory one planning process would have.
    TREES.budget //= children
    # It exits when done: a collection would walk the facts and trees it plans over to
    # find next to no garbage (polar's server: 11k objects in all, 0.47 s of walks).
    gc.disable()
    assert _PLANNING is not None
    pipeline, files, contents, modules, given, keep = _PLANNING
    try:
        indexed: dict[str, bytes] | None = {} if keep else None
        plans = plan_each(pipeline, planners, files, contents, modules, given, indexed)
        sender.send((True, (plans, indexed or {})))
    except Exception as exc:  # a bug in a plan: raised again in the parent
        try:
            sender.send((False, exc))
        except Exception:  # not picklable
            sender.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    sender.close()
