"""The driver's contract: ordering, screening, verification, rule examples."""

from __future__ import annotations

import ast
import concurrent.futures.process
import gc
import os
import pickle
import signal
import sys
import time
import weakref
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
import pytest

from asyncfix import driver as driver_module
from asyncfix import index, syntax, workers
from asyncfix.codemods import (
    AsyncfixCodemod,
    RegistryError,
    Rule,
    _family_modules,
    all_codemods,
    all_rules,
    families,
    order_codemods,
    resolve_selection,
)
from asyncfix.config import Config, ConfigError, parse_table
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceError, SourceFile
from asyncfix.index import ModuleInfo, forget, index_module
from asyncfix.planning import make_plans, plan_apart, plan_groups
from asyncfix.signals import Interrupted, stop_on_signals
from asyncfix.workers import (
    _init_worker,
    _process_chunk,
    facts_blob,
    free_parsed,
    from_blob,
    index_apart,
)

RULE = Rule("AF999", "test", "test", "why", "fix", "", "")


def fake(name: str, family: str = "awaits", after: tuple[str, ...] = ()) -> type[AsyncfixCodemod]:
    attrs = {"NAME": name, "FAMILY": family, "RULES": (RULE,), "AFTER": after}
    return type(f"Fake_{name}", (AsyncfixCodemod,), attrs)


def names(codemods: list[type[AsyncfixCodemod]]) -> list[str]:
    return [c.NAME for c in codemods]


def test_order_follows_after_and_breaks_ties_by_name() -> None:
    a, b, c = fake("a", after=("c",)), fake("b"), fake("c", family="lifespan")
    last = fake("last", after=("*",))
    assert names(order_codemods([last, a, b, c])) == ["b", "c", "a", "last"]


def test_after_a_family_runs_after_all_its_codemods() -> None:
    x1, x2 = fake("x1", family="lifespan"), fake("x2", family="lifespan")
    y = fake("y", family="http_client", after=("lifespan",))
    assert names(order_codemods([y, x2, x1])) == ["x1", "x2", "y"]


def test_cycle_and_unknown_names_fail_at_start_up() -> None:
    with pytest.raises(RegistryError, match="cycle"):
        order_codemods([fake("a", after=("b",)), fake("b", after=("a",))])
    with pytest.raises(RegistryError, match="unknown"):
        order_codemods([fake("a", after=("no-such-thing",))])


def test_registry_is_ordered_and_codes_are_unique() -> None:
    codemods = all_codemods()
    assert codemods
    codes = [code for c in codemods for code in c.codes()]
    assert len(codes) == len(set(codes))
    assert all(code.startswith("AF") and len(code) == 5 for code in codes)
    assert list(codemods) == order_codemods(list(codemods))


def test_selection_by_code_prefix_family_and_ignore() -> None:
    assert "AF203" in resolve_selection(["AF2"], [])
    assert "AF203" in resolve_selection(["http_client"], [])
    assert "AF203" not in resolve_selection(["AF"], ["AF203"])
    with pytest.raises(RegistryError):
        resolve_selection(["nonsense"], [])


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_rule_examples_are_true(code: str) -> None:
    # `asyncfix explain` shows these; they must be exactly what the codemod does.
    _codemod, rule = all_rules()[code]
    pipeline = Pipeline(Config(select=(code,)))
    outcome = pipeline.process(SourceFile(Path("example.py"), "example.py"), rule.before.encode())
    assert not outcome.errors
    assert (outcome.new or rule.before.encode()).decode() == rule.after
    assert [f.code for f in outcome.findings] and {f.code for f in outcome.findings} == {code}


def test_files_without_trigger_tokens_are_never_parsed() -> None:
    pipeline = Pipeline(Config())
    outcome = pipeline.process(SourceFile(Path("x.py"), "x.py"), b"def f(:\n")
    assert not outcome.parsed and not outcome.errors  # never parsed, so no syntax error


class _Breaker(AsyncfixCodemod):
    """A deliberately broken codemod: it emits `await` where no async def is."""

    NAME = "breaker"
    FAMILY = "awaits"
    RULES: ClassVar[tuple[Rule, ...]] = (RULE,)
    TRIGGERS = (b"def",)

    def leave_Pass(self, original_node: cst.Pass, updated_node: cst.Pass) -> cst.BaseSmallStatement:
        self.report(original_node, "AF999", "broken")
        return cst.Expr(cst.Await(cst.Name("x")))


class _Flipper(AsyncfixCodemod):
    """Not idempotent: every run appends one more statement."""

    NAME = "flipper"
    FAMILY = "awaits"
    RULES: ClassVar[tuple[Rule, ...]] = (RULE,)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(
            body=[*updated_node.body, cst.SimpleStatementLine([cst.Pass()])]
        )


@pytest.mark.parametrize(
    ("codemod", "problem"), [(_Breaker, "would not compile"), (_Flipper, "not idempotent")]
)
def test_a_bad_rewrite_leaves_the_file_untouched(
    codemod: type[AsyncfixCodemod], problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("asyncfix.pipeline.resolve_selection", lambda s, i: frozenset({"AF999"}))
    pipeline = Pipeline(Config(), codemods=[codemod])
    outcome = pipeline.process(SourceFile(Path("x.py"), "x.py"), b"def f():\n    pass\n")
    assert outcome.new is None
    assert len(outcome.errors) == 1
    assert problem in outcome.errors[0].message
    assert outcome.errors[0].message.startswith("internal error")


@pytest.mark.parametrize(
    "table",
    [
        {"http_client": {"library": "urllib3"}},
        {"lifespan": {"no-such-limit": 1}},
        {"db_session": {"commit-on-exit": "yes"}},
        {"async_def": {"closed-world": 1}},
        {"serializer": {"indent": 2}},  # a family that takes no options at all
        {"awaits": {"closed-world": True}},
    ],
    ids=lambda t: next(iter(t)),
)
def test_a_wrong_family_option_fails_before_any_file_is_read(table: dict[str, Any]) -> None:
    config = parse_table(table, None)
    with pytest.raises(ConfigError):
        Pipeline(config)


def _legacy_files() -> tuple[list[SourceFile], dict[str, bytes | SourceError]]:
    root = Path(__file__).parent.parent / "testdata" / "legacy_app"
    files = [SourceFile(p, str(p.relative_to(root))) for p in sorted(root.rglob("*.py"))]
    return files, {f.display: f.path.read_bytes() for f in files}


def _ordered(plans: dict[str, dict[str, Any]]) -> list[tuple[str, list[tuple[str, Any]]]]:
    return [(path, list(each.items())) for path, each in plans.items()]


@pytest.mark.parametrize("jobs", [1, 2, 3, 8])
def test_plans_made_in_children_are_the_plans(jobs: int) -> None:
    # A parallel run plans in forked children (the index's memory leaves with them),
    # each making the plans of some families.
    pipeline = Pipeline(Config())
    files, contents = _legacy_files()
    here = plan_apart(pipeline, files, contents, apart=False)
    assert len({name for each in here.values() for name in each}) > 1  # several planners
    apart = plan_apart(pipeline, files, contents, apart=True, jobs=jobs)
    assert _ordered(apart) == _ordered(here)  # the same order too (cache keys hash it)


def _facts(info: ModuleInfo | None) -> object:
    if info is None:
        return None
    return (
        info.path,
        info.name,
        info.data,
        info.digest,
        info.imports,
        info.functions,
        info.assignments,
        info.toplevel,
        info.classes,
        [(n, ast.dump(a)) for n, a in info.returns],
        info.toplevel_calls,
    )


@pytest.mark.parametrize("jobs", [2, 3])
def test_the_workers_index_what_the_plans_would(jobs: int) -> None:
    # The workers index the modules every plan reads (INDEXES), once, before the plans.
    pipeline = Pipeline(Config())
    files, contents = _legacy_files()
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(Config(),)) as pool:
        modules, pickled, notes, same = index_apart(pool, pipeline, files, contents, jobs, None)
    assert same is pool
    assert notes and notes.keys() <= pickled.keys()  # (with their prescreens' notes)
    assert {"app/main.py", "app/db.py"} <= modules.keys()
    assert pickled.keys() == {path for path, info in modules.items() if info is not None}
    for path, info in modules.items():
        data = contents[path]
        assert isinstance(data, bytes) and b"async" in data  # (the tokens of INDEXES)
        here = index_module(next(f for f in files if f.display == path), data)
        assert info is not None and here is not None
        assert _facts(info) == _facts(here)
        # What the worker that rewrites the file gets (see _process_chunk).
        sent, lowered = pickle.loads(pickled[path])
        assert sent.data == b""  # the worker has the bytes
        assert lowered is None  # (this Python parses them as they are)
        assert _facts(from_blob(pickled[path], data)) == _facts(here)
    apart = plan_apart(pipeline, files, contents, apart=True, jobs=jobs, modules=modules)
    assert _ordered(apart) == _ordered(plan_apart(pipeline, files, contents, apart=False))


def _dies(files: list[tuple[SourceFile, bytes]]) -> list[ModuleInfo | None]:
    os._exit(3)


def test_a_worker_that_dies_indexing_leaves_the_plans_to_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers, "_index_chunk", _dies)  # (the forked workers see it too)
    pipeline = Pipeline(Config())
    files, contents = _legacy_files()
    pool = ProcessPoolExecutor(2, initializer=_init_worker, initargs=(Config(),))
    pool.submit(int).result()
    modules, pickled, notes, fresh = index_apart(pool, pipeline, files, contents, 2, None)
    try:
        assert modules == {} and pickled == {} and notes == {} and fresh is not pool
        assert fresh.submit(sum, [1, 2]).result() == 3  # a working pool in its place
    finally:
        fresh.shutdown()


@pytest.mark.parametrize("jobs", [1, 2, 3, 64])
def test_planners_are_dealt_out_by_family(jobs: int) -> None:
    planners = Pipeline(Config()).planners()
    groups = plan_groups(planners, jobs)
    assert 1 <= len(groups) <= jobs
    assert sorted(c.NAME for g in groups for c in g) == sorted(c.NAME for c in planners)
    family_groups = {c.FAMILY: {i for i, g in enumerate(groups) if c in g} for c in planners}
    assert all(len(where) == 1 for where in family_groups.values())
    if jobs > 1:
        assert len(groups) > 1


def test_a_plan_that_fails_in_the_child_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise ValueError("a bug in a plan")

    monkeypatch.setattr("asyncfix.planning.plan_each", broken)
    files, contents = _legacy_files()
    with pytest.raises(ValueError, match="a bug in a plan"):
        plan_apart(Pipeline(Config()), files, contents, apart=True)


def test_indexing_and_planning_make_no_automatic_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An indexing worker's chunk (its trees live to the chunk's end) and a planning child
    # (it exits when done) would only walk live objects: the collector is off there, and
    # on again after the chunk.
    assert gc.isenabled()
    seen: list[bool] = []

    def indexed(file: SourceFile, data: bytes) -> ModuleInfo | None:
        seen.append(gc.isenabled())
        return index_module(file, data)

    monkeypatch.setattr(workers, "index_module", indexed)
    files, contents = _legacy_files()
    chunk = [(f, d) for f in files if isinstance(d := contents[f.display], bytes)]
    assert len(workers._index_chunk(chunk)) == len(chunk)
    assert seen == [False] * len(chunk) and gc.isenabled()

    pipeline = Pipeline(Config())
    (first, *_) = pipeline.planners()

    def planned(*args: object) -> dict[str, dict[str, bool]]:
        return {first.NAME: {"m.py": gc.isenabled()}}

    monkeypatch.setattr("asyncfix.planning.plan_each", planned)
    assert plan_apart(pipeline, files, contents, apart=True) == {"m.py": {first.NAME: False}}
    assert gc.isenabled()


def test_a_signal_after_the_last_look_at_the_flag_still_interrupts() -> None:
    # A signal only sets a flag; one that comes once a loop has looked for the last time
    # must not be lost when the block ends.
    with pytest.raises(Interrupted), stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # (the handler runs between bytecodes)
    with stop_on_signals():
        pass  # no signal: nothing raised


def test_a_worker_handed_the_facts_does_not_index_the_module_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = Pipeline(Config())
    files, contents = _legacy_files()
    plans = make_plans(pipeline, files, contents)
    tasks: list[workers.Task] = []
    for file in files:
        data = contents[file.display]
        assert isinstance(data, bytes)
        info = index_module(file, data)
        facts = None if info is None else facts_blob(info)
        # (the prescreens' note, as the indexing worker makes it: see _index_chunk)
        note = None if info is None else pipeline.screen_note(file.display, data, info.tree)
        tasks.append((file, data, plans.get(file.display), None, facts, note))
    forget()
    expected = [pipeline.rewrite_file(*task[:4]) for task in tasks]
    assert any(o.findings for o in expected) and any(o.new for o in expected)
    forget()
    monkeypatch.setattr(workers, "_WORKER", pipeline)
    collected: list[str] = []
    original = index._Collector.walk

    def walk(self: index._Collector, node: ast.AST, own: object) -> None:
        if node.__class__ is ast.Module:
            collected.append(self.info.path)
        original(self, node, own)  # type: ignore[arg-type]

    monkeypatch.setattr(index._Collector, "walk", walk)
    parsed: list[bytes] = []
    parse = syntax.parse

    def counted(data: bytes, *args: Any, **kwargs: Any) -> ast.Module:
        parsed.append(data)
        return parse(data, *args, **kwargs)

    monkeypatch.setattr(syntax, "parse", counted)
    try:
        outcomes = _process_chunk(tasks)
    finally:
        gc.unfreeze()  # (what a worker's collections freeze: not for the tests after)
    seen = set(parsed)  # (before the notes are asked again below)
    assert [(o.findings, o.new, o.errors, o.parsed) for o in outcomes] == [
        (o.findings, o.new, o.errors, o.parsed) for o in expected
    ]
    # Only the rewritten text, in the check that a second run leaves it alone.
    rewritten = {o.file.display for o in expected if o.new}
    assert collected and set(collected) <= rewritten
    # A file its note rules out is not parsed again; the others are, once at least.
    out = [
        data
        for file, data, plans_of_file, _, _, note in tasks
        if note is not None
        and all(
            a is False for a in pipeline.noted(file.display, data, note, plans_of_file).values()
        )
    ]
    assert out and not set(out) & seen
    assert {o.original for o in outcomes if o.parsed} <= seen


class _Node:
    other: _Node | None = None


def test_a_worker_frees_a_parsed_files_cycles_and_freezes_what_survives() -> None:
    # (after a file libcst parsed: see _process_chunk)
    kept, dropped = _Node(), _Node()
    dropped.other, kept.other = _Node(), _Node()
    dropped.other.other = dropped  # a cycle, as a tree's scopes make
    gone = weakref.ref(dropped)
    del dropped
    try:
        free_parsed()
        assert gone() is None
        assert gc.get_freeze_count() > 0
        # the survivor is no longer among what a collection walks
        assert not any(o is kept for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())


def test_the_families_are_the_registrys() -> None:
    # The configuration's family tables and the selectors know the families the registry
    # discovers, in the order of their codes; each family is the module (or package) of
    # its name, and every codemod lives in its family's.
    assert set(families()) == {c.FAMILY for c in all_codemods()} == set(_family_modules())
    for codemod in all_codemods():
        assert codemod.__module__.split(".")[2] == codemod.FAMILY, codemod
    assert [min(all_rules_of(f)) for f in families()] == sorted(
        min(all_rules_of(f)) for f in families()
    )
    for family in families():
        assert parse_table({family: {}}, None).family_options(family) == {}
    with pytest.raises(ConfigError, match=r"known: select, .*, " + ", ".join(families())):
        parse_table({"no_such_family": {}}, None)


def all_rules_of(family: str) -> list[str]:
    return [code for code, (c, _) in all_rules().items() if family == c.FAMILY]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 parses PEP 701 f-strings")
def test_the_lowered_source_travels_with_the_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    # A module in 3.12's syntax is lowered (tokenize and a libcst round trip, several ast
    # parses' worth) by the worker that indexes it; the plans and its rewrite reuse that.
    data = b'import asyncio\n\n\nasync def f(x):\n    return f"{x["k"]}"\n'
    file = SourceFile(Path("app/new.py"), "app/new.py")
    info = index_module(file, data)
    assert info is not None
    lowered = syntax.lowering_of(data)
    assert lowered is not None and "'k'" in lowered
    blob = facts_blob(info, lowered)
    syntax._LOWERED.clear()  # as in another process
    forget()
    assert _facts(from_blob(blob, data)) == _facts(info)

    def lower(source: bytes | str) -> str | None:
        raise AssertionError("lowered again")

    monkeypatch.setattr(syntax, "lower", lower)
    assert ast.dump(syntax.parse(data)) == ast.dump(ast.parse(lowered))


def test_a_run_lets_its_pool_go_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pool that indexed the project but rewrote nothing (the one file given was rewritten
    # here) used to be shut down without waiting: its manager thread, still closing the
    # queues at interpreter exit, could race concurrent.futures' exit hook there and print
    # "Bad file descriptor" after the run's last message. The run joins it now.
    for i in range(12):
        (tmp_path / f"m{i}.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)
    managers: list[Any] = []  # (shutdown forgets its thread: taken when the pool starts)
    original = workers.start_pool

    def recorded(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pool = original(*args, **kwargs)
        managers.append(getattr(pool, "_executor_manager_thread", None))
        return pool

    closing = concurrent.futures.process._ExecutorManagerThread.join_executor_internals

    def slowly(self: Any) -> None:  # (the manager's last step, slow as under load)
        time.sleep(0.5)
        closing(self)

    monkeypatch.setattr(driver_module, "start_pool", recorded)
    monkeypatch.setattr(driver_module, "_candidates", lambda *args: True)  # (a pool, then)
    monkeypatch.setattr(
        concurrent.futures.process._ExecutorManagerThread, "join_executor_internals", slowly
    )
    result = run([tmp_path / "m3.py"], Config(), jobs=2)
    assert [o.file.display for o in result.outcomes if o.changed] == ["m3.py"]
    assert managers and managers[0] is not None  # (the run started a pool)
    assert not managers[0].is_alive()
