"""The pipeline: screen bytes, parse once, run the codemods in order, verify, report."""

from __future__ import annotations

import ast
import gc
import inspect
import multiprocessing
import os
import pickle
import sys
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from asyncfix import syntax
from asyncfix.cache import CachedResult, ResultCache
from asyncfix.codemods import all_codemods, resolve_selection
from asyncfix.config import Config, ConfigError
from asyncfix.files import (
    SourceError,
    SourceFile,
    check_named,
    check_text,
    decode,
    discover,
    read_bytes,
)
from asyncfix.index import (
    TREES,
    ModuleInfo,
    ProjectIndex,
    forget,
    index_module,
    remember,
    use_layout,
)
from asyncfix.project import Layout, project_root
from asyncfix.report import FileError, Finding, Summary
from asyncfix.shard import in_shard
from asyncfix.signals import Interrupted, as_child
from asyncfix.signals import kill_pool as _kill
from asyncfix.signals import stop_on_signals as _stop_on_signals
from asyncfix.suppressions import suppressions_for

if TYPE_CHECKING:
    # libcst and the codemods are imported where they are used: a rerun served from the
    # cache never parses, and importing them costs ~0.4 s.
    import libcst as cst

    from asyncfix.codemods.base import AsyncfixCodemod, FileRun

_T = TypeVar("_T")


@dataclass
class FileOutcome:
    file: SourceFile
    original: bytes | None = None  # None when the file could not be read
    new: bytes | None = None  # None when nothing changes (or on error)
    encoding: str = "utf-8"
    parsed: bool = False
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    packages: set[str] = field(default_factory=set)
    cached: bool = False  # served from the result cache (see asyncfix/cache.py)
    cache_key: str | None = None  # its entry in the result cache, once stored or found

    def from_cache(self, hit: CachedResult, key: str) -> None:
        """Take the result stored under `key`."""
        self.encoding, self.findings, self.new = hit.encoding, hit.findings, hit.new
        self.packages, self.parsed = hit.packages, hit.parsed
        self.cached, self.cache_key = True, key

    @property
    def changed(self) -> bool:
        return self.new is not None and not self.errors


@dataclass
class RunResult:
    outcomes: list[FileOutcome]
    errors: list[FileError]  # including each outcome's errors
    summary: Summary

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]


class Pipeline:
    """The selected codemods, in order, applied to one file at a time."""

    def __init__(
        self,
        config: Config,
        codemods: Sequence[type[AsyncfixCodemod]] | None = None,
        cache: ResultCache | None = None,
    ):
        self.config = config
        self.cache = cache
        use_layout(config.layout)  # in every process: the workers build their own Pipeline
        self.enabled = resolve_selection(config.select, config.ignore)
        candidates = all_codemods() if codemods is None else codemods
        self.codemods = [c for c in candidates if self.enabled.intersection(c.codes())]
        _check_family_tables(config, candidates)
        for codes in config.per_file_ignores.values():
            resolve_selection((), codes)  # an unknown code there is a usage error too
        for codemod in self.codemods:
            codemod.check_config(config)
        self.code_families = {code: c.FAMILY for c in candidates for code in c.codes()}
        # Off only to test that prescreens never skip a file a codemod would act on.
        self.use_prescreens = True

    def may_match(self, data: bytes) -> bool:
        return any(c.may_match(data) for c in self.codemods)

    def prescreen(
        self,
        data: bytes,
        tree: ast.Module | None,
        path: str,
        plans: Mapping[str, Any] | None,
    ) -> frozenset[type[AsyncfixCodemod]] | None:
        """The codemods whose prescreen passes on these bytes (see
        AsyncfixCodemod.prescreen); None when Python's parser could not make the tree
        (newer syntax, perhaps): then libcst decides, and every codemod runs."""
        if tree is None or not self.use_prescreens:
            return None
        from asyncfix.codemods.base import SourceView

        view = SourceView(path, data, tree, self.config, self.enabled, plans or {})
        in_tests = self.config.in_test_code(path)
        return frozenset(
            c
            for c in self.codemods
            if (c.IN_TESTS or not in_tests)
            and (c.may_match(data) or c.NAME in view.plans)
            and c.prescreen(view)
        )

    def make_plans(
        self,
        files: Sequence[SourceFile],
        contents: Mapping[str, bytes | SourceError] | None = None,
        modules: Mapping[str, ModuleInfo | None] | None = None,
        given: Collection[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """display path -> {codemod name: its instructions}, from the planning codemods.
        `contents`: the files' bytes when the caller has read them already; `modules`:
        facts of some of them, indexed already (see `_index_apart`); `given`: the files
        the run may change when not all of `files` (see ProjectIndex.outside)."""
        each = self.plan_each(self.planners(), files, contents, modules, given)
        return self.combine_plans(each)

    def planners(self) -> list[type[AsyncfixCodemod]]:
        return [c for c in self.codemods if _overrides(c, "plan")]

    def plan_each(
        self,
        planners: Sequence[type[AsyncfixCodemod]],
        files: Sequence[SourceFile],
        contents: Mapping[str, bytes | SourceError] | None = None,
        modules: Mapping[str, ModuleInfo | None] | None = None,
        given: Collection[str] | None = None,
    ) -> dict[str, Mapping[str, Any]]:
        """codemod name -> its plan (display path -> instructions), for `planners`."""
        if not planners:
            return {}
        index = ProjectIndex(files, contents, given)
        index.add(modules or {})
        # The codemods that do not run on test code read it but may not change it, as a
        # file not given: a plan that needs a change there (a handler a conftest.py
        # registers, a test reading a client that moves) is refused, never half made.
        tests = {f.display for f in files if self.config.in_test_code(f.display)}
        outside = index.sealed(tests) if tests else index
        try:
            return {
                c.NAME: _plan_of(c, index if c.IN_TESTS else outside, self.config, self.enabled)
                or {}
                for c in planners
            }
        finally:
            forget()  # the trees and facts are the plans' alone

    def combine_plans(self, each: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """The plans per file, in the pipeline's order whatever order `each` came in."""
        plans: dict[str, dict[str, Any]] = {}
        for codemod in self.planners():
            for path, data in each.get(codemod.NAME, {}).items():
                plans.setdefault(path, {})[codemod.NAME] = data
        return plans

    def rewrite(
        self,
        module: cst.Module,
        data: bytes,
        text: str,
        path: str,
        plans: Mapping[str, Any] | None = None,
        suppress: Mapping[int, frozenset[str] | None] | None = None,
        syntax_tree: ast.Module | None = None,
        screened: Collection[type[AsyncfixCodemod]] | None = None,
    ) -> FileRun:
        """Run every codemod that may match on `module`: the new module is `run.result`.

        `suppress` adds suppressions to the file's own comments (line -> codes; None: all).
        `screened`: the codemods whose prescreen passed on these bytes (None: all); the
        others are skipped while the tree is still the one that was screened.
        """
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

        from asyncfix.codemods.base import FileRun, visit_with_metadata
        from asyncfix.codemods.helpers import (
            BlankKeepingImportsRemover,
            TopImportsAdder,
            imports_still_used,
            sort_added_imports,
        )
        from asyncfix.codemods.speed.traversal import fast_visits
        from asyncfix.project import import_sorter

        suppressions = suppressions_for(text, path, self.config)
        for line, codes in (suppress or {}).items():
            have = suppressions.get(line, frozenset())
            suppressions[line] = None if codes is None or have is None else have | codes
        run = FileRun(
            path=path,
            original=module,
            config=self.config,
            enabled=self.enabled,
            code_families=self.code_families,
            suppressions=suppressions,
            plans=plans or {},
            source=data,
            parsed_ast=syntax_tree,
        )
        context = CodemodContext(filename=path)
        # One visit mechanism for the whole file: see asyncfix/codemods/speed/traversal.py.
        with fast_visits():
            for codemod in self.codemods:
                if (
                    screened is not None
                    and codemod not in screened
                    and module is run.original
                    and not context.scratch.get(AddImportsVisitor.CONTEXT_KEY)
                ):
                    continue  # nothing changed yet: its prescreen saw this very file
                if not codemod.IN_TESTS and self.config.in_test_code(path):
                    continue  # test code: only the codemods that fix bugs (`tests`)
                if codemod.may_match(data) or codemod.NAME in run.plans:
                    fixes = sum(f.fixable for f in run.findings)
                    new = codemod(context, run).transform(module)
                    # libcst rebuilds every node it visits: when nothing changed, carry on with
                    # the same tree, so later codemods reuse its metadata and original positions.
                    if new is module or (
                        sum(f.fixable for f in run.findings) == fixes and new.deep_equals(module)
                    ):
                        continue
                    module = new
            # Import changes last, once, for all codemods (libcst's own visitors); what is
            # added goes where the project's import sorter puts it.
            if context.scratch.get(AddImportsVisitor.CONTEXT_KEY):
                added = visit_with_metadata(TopImportsAdder(context), module)
                root = None if self.config.source is None else self.config.source.parent
                module = sort_added_imports(module, added, import_sorter(root))
            removals = context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY)
            # (half of them remove nothing: another use remains, which Python's own scope
            # analysis tells for a fraction of the cost of libcst's)
            if removals and not imports_still_used(module.code, removals):
                module = visit_with_metadata(BlankKeepingImportsRemover(context), module)
        run.result = module
        return run

    def triage(
        self, file: SourceFile, data: bytes, plans: Mapping[str, Any] | None = None
    ) -> tuple[FileOutcome | None, str | None]:
        """(the outcome when it needs no parse: bytes without a trigger token, a binary
        file, a result in the cache; else None) and the file's cache key (None without a
        cache or for a plan that cannot be keyed). Cheap: the parent process asks it of
        every file and sends only the rest, with their keys, to the workers."""
        outcome = FileOutcome(file, original=data)
        try:
            check_text(data)  # a binary file is reported even without trigger tokens
            check_named(file, data)
        except SourceError as exc:
            outcome.errors.append(FileError(file.display, exc.line, exc.column, exc.message))
            return outcome, None
        # A file named on the command line is parsed even without a trigger token: one
        # that is not valid Python is an error, as in any linter (its prescreens then stop
        # it before libcst's parse).
        if not plans and not self.may_match(data) and not file.named:
            return outcome, None
        if self.config.too_large(data):
            # Linear in size, but a generated module of megabytes would still take minutes
            # and gigabytes: no one file holds the run hostage. (Still indexed for plans:
            # another module's rewrite must see its uses.)
            message = (
                f"not rewritten: {len(data):,} bytes, over the limit of "
                f"{self.config.max_file_size:,} "
                "(max-file-size in [tool.asyncfix]; 0: no limit)"
            )
            outcome.errors.append(FileError(file.display, 1, 1, message))
            return outcome, None
        if self.cache is None:
            return None, None
        # A planned file depends on other files: its plan data is part of the key.
        key = self.cache.key(data, file.display, file.path, plans)
        hit = None if key is None else self.cache.get(key, file.display)
        if hit is None or key is None:
            return None, key
        outcome.from_cache(hit, key)
        return outcome, key

    def process(
        self,
        file: SourceFile,
        data: bytes | None = None,
        plans: Mapping[str, Any] | None = None,
    ) -> FileOutcome:
        """One file, whole: read, triage, and if need be parse and rewrite."""
        if data is None:
            try:
                data = read_bytes(file.path)
            except SourceError as exc:
                return _failed(file, exc.message, exc.line, exc.column)
        done, key = self.triage(file, data, plans)
        return done if done is not None else self.rewrite_file(file, data, plans, key)

    def rewrite_file(
        self,
        file: SourceFile,
        data: bytes,
        plans: Mapping[str, Any] | None,
        key: str | None,
        suppress: Mapping[int, frozenset[str] | None] | None = None,
    ) -> FileOutcome:
        """A file that triage did not settle: prescreens, then the libcst parse and the
        codemods if any prescreen passes; the result is stored under `key`. `suppress`:
        see `rewrite` (a partial fix: its output is not checked for idempotence)."""
        try:
            outcome = self._rewrite_file(file, data, plans, key, suppress)
            if not any(error.message == TOO_DEEP for error in outcome.errors):
                return outcome
        except RecursionError:  # (in the verifying second run)
            pass
        # Nested past what the default recursion limit allows libcst's visitors: again, on
        # a thread with room for all the nesting CPython accepts (see `_deeply`).
        try:
            return _deeply(lambda: self._rewrite_file(file, data, plans, key, suppress))
        except RecursionError:
            outcome = FileOutcome(file, original=data, parsed=True)
            outcome.errors.append(FileError(file.display, 1, 1, TOO_DEEP))
            return outcome

    def _rewrite_file(
        self,
        file: SourceFile,
        data: bytes,
        plans: Mapping[str, Any] | None,
        key: str | None,
        suppress: Mapping[int, frozenset[str] | None] | None = None,
    ) -> FileOutcome:
        outcome = FileOutcome(file, original=data)
        try:
            text, outcome.encoding = decode(data)
            tree = _guard_depth(data)
            if tree is not None and not plans and not self.may_match(data):
                screened: frozenset[type[AsyncfixCodemod]] | None = frozenset()  # (named, valid)
            else:
                screened = self.prescreen(data, tree, file.display, plans)
            if not screened and screened is not None:
                # No codemod can act here: no libcst parse at all.
                if key is not None and self.cache is not None:
                    self.cache.put(key, CachedResult(outcome.encoding, [], None, set(), False))
                    outcome.cache_key = key
                return outcome
            module, feeds = _cst_parse(data)
        except SourceError as exc:
            outcome.errors.append(FileError(file.display, exc.line, exc.column, exc.message))
            return outcome
        outcome.parsed = True
        source = data if feeds is None else feeds.stripped  # what `module` was parsed from
        try:
            run = self.rewrite(
                module, source, text, file.display, plans, suppress, tree, screened=screened
            )
        except RecursionError:
            outcome.errors.append(FileError(file.display, 1, 1, TOO_DEEP))
            return outcome
        except Exception as exc:  # a bug in a codemod must not stop the run
            outcome.errors.append(
                FileError(file.display, 1, 1, f"internal error: {type(exc).__name__}: {exc}")
            )
            return outcome
        outcome.findings = sorted(
            run.findings if feeds is None else [feeds.in_source(f) for f in run.findings]
        )
        outcome.packages = run.packages
        assert run.result is not None
        # The very tree that was parsed: its code is the input (libcst round-trips exactly),
        # so skip the codegen, which costs about a fifth of a parse.
        new = data if run.result is module else _code(run.result, source, feeds)
        if new != data:
            # Sites suppressed by line (an editor's one fix, apply --min-share) are fixed
            # by a second run: no idempotence to check, only that it parses and compiles.
            whole = suppress is None and not self.config.suppress
            problem = self._verify(data, new, text, file.display, plans, whole)
            if problem is None:
                outcome.new = new
            else:
                fixed = sorted({f.code for f in run.findings if f.fixable})
                outcome.errors.append(
                    FileError(
                        file.display,
                        1,
                        1,
                        f"internal error: the rewrite ({', '.join(fixed) or 'imports'}) "
                        f"{problem}; file left unchanged, please report this",
                    )
                )
        if key is not None and self.cache is not None and not outcome.errors:
            self.cache.put(
                key, CachedResult(outcome.encoding, outcome.findings, outcome.new, outcome.packages)
            )
            outcome.cache_key = key
        return outcome

    def _verify(
        self,
        old: bytes,
        new: bytes,
        old_text: str,
        path: str,
        plans: Mapping[str, Any] | None,
        whole: bool = True,
    ) -> str | None:
        """None when `new` is safe to write: it parses, compiles when the original did,
        and a second run of the pipeline leaves it as it is."""
        try:
            new_text, _ = decode(new)
            tree = _guard_depth(new)
            screened = self.prescreen(new, tree, path, plans)
            module, feeds = _cst_parse(new) if screened or screened is None else (None, None)
        except SourceError as exc:
            return f"would not parse ({exc.message} at {exc.line}:{exc.column})"
        if syntax.compiles(old_text, path) and not syntax.compiles(new_text, path):
            return "would not compile"
        if module is None or not whole:
            return None  # Python parses it, and no codemod would act on it again
        source = new if feeds is None else feeds.stripped
        again = self.rewrite(
            module, source, new_text, path, plans, syntax_tree=tree, screened=screened
        ).result
        if again is None or _code(again, source) != source:
            return "is not idempotent (a second run changes it again)"
        return None


TOO_DEEP = "too deeply nested to rewrite"
# CPython compiles 99 levels of indentation, 200 of brackets and chains of about 2,000
# unary operators (`not not ... x`); libcst's visitors take several Python frames per
# level: 2,000 `not`s need between 6,000 and 20,000. A thread's stack must hold them.
_DEEP_RECURSION_LIMIT = 30_000
_DEEP_STACK_BYTES = 512 * 1024 * 1024  # (address space: pages are used as touched)


def _deeply(work: Callable[[], _T]) -> _T:
    """`work()`, on a thread with a stack and a recursion limit for `_DEEP_RECURSION_LIMIT`
    frames. The limit is the interpreter's: it is raised while the thread runs (the
    caller only waits meanwhile) and then put back."""
    done: list[_T] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    limit = sys.getrecursionlimit()
    previous = threading.stack_size(_DEEP_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="asyncfix-deep", daemon=True)
        sys.setrecursionlimit(max(limit, _DEEP_RECURSION_LIMIT))
        thread.start()
    finally:
        threading.stack_size(previous)
    try:
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    if failed:
        raise failed[0]
    return done[0]


# Python's parser rejects these with a SyntaxError; libcst's native parser would recurse
# into them until the process dies with a stack overflow.
_NESTING_LIMITS = ("too many nested parentheses", "too many levels of indentation")
# libcst nests `a and b and ...` (flat in Python's ast) one level per operand.
MAX_BOOL_OPERANDS = 1000


def _guard_depth(data: bytes) -> ast.Module | None:
    """SourceError for source nested too deeply for libcst to parse without crashing.

    Python's own parser (C, bounded) goes first: cheap next to libcst's parse. Its tree is
    returned for the codemods' screens (None where Python could not parse the source)."""
    try:
        with warnings.catch_warnings():  # invalid escapes etc.: not ours to report
            warnings.simplefilter("ignore")
            tree = syntax.parse(data)
    except SyntaxError as exc:
        if any(limit in str(exc.msg) for limit in _NESTING_LIMITS):
            raise SourceError(exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}") from exc
        return None  # newer syntax than this interpreter's, perhaps: libcst decides
    except (RecursionError, MemoryError) as exc:
        raise SourceError(1, 1, "too deeply nested to parse") from exc
    except ValueError:
        return None
    if data.count(b" and ") + data.count(b" or ") > MAX_BOOL_OPERANDS:
        for node in ast.walk(tree):
            if isinstance(node, ast.BoolOp) and len(node.values) > MAX_BOOL_OPERANDS:
                raise SourceError(node.lineno, node.col_offset + 1, "too deeply nested to parse")
    return tree


def _cst_parse(data: bytes) -> tuple[cst.Module, syntax.FormFeeds | None]:
    """libcst's parse of bytes that passed `_guard_depth`, and the form feeds that start
    lines of code (see syntax.FormFeeds): the tree is then that of the source without
    them, which `_code` puts back."""
    import libcst as cst

    feeds = syntax.FormFeeds.strip(data)
    source = data if feeds is None else feeds.stripped
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        # Python's own message and position are the ones users know; libcst's serve only
        # where the interpreter accepts what libcst does not.
        try:
            ast.parse(data)
        except SyntaxError as py:
            raise SourceError(py.lineno or 1, py.offset or 1, f"syntax error: {py.msg}") from exc
        except (ValueError, RecursionError, MemoryError):
            pass
        first = exc.message.strip().splitlines()[0] if exc.message.strip() else "invalid syntax"
        raise SourceError(
            exc.editor_line, exc.editor_column, f"syntax libcst cannot parse: {first}"
        ) from exc
    except RecursionError as exc:
        raise SourceError(1, 1, "too deeply nested to parse") from exc
    if syntax.FORM_FEED in data and (code := _code(module, source)) != source:
        # A form feed elsewhere that libcst would move: no rewrite could keep the bytes.
        pairs = enumerate(zip(code.splitlines(), source.splitlines(), strict=False), 1)
        line = next((n for n, (ours, theirs) in pairs if ours != theirs), 1)
        raise SourceError(line, 1, "a form feed here that libcst cannot reproduce")
    return module, feeds


def _code(module: cst.Module, original: bytes, feeds: syntax.FormFeeds | None = None) -> bytes:
    """The module's bytes. libcst drops a lone CR (old Mac line ending) at the very end
    of a file; it is put back so that nothing outside a rewrite changes, as are the form
    feeds taken out before the parse (`feeds`)."""
    code = module.bytes
    if original.endswith(b"\r") and not code.endswith((b"\r", b"\n")):
        code += b"\r"
    return code if feeds is None else feeds.restore(code)


def _overrides(codemod: type[AsyncfixCodemod], method: str) -> bool:
    """Does the codemod define its own `method` (`plan`: it needs the project index)?"""
    from asyncfix.codemods.base import AsyncfixCodemod

    return any(method in vars(k) for k in codemod.__mro__ if k is not AsyncfixCodemod)


def _plan_of(
    codemod: type[AsyncfixCodemod], index: ProjectIndex, config: Config, enabled: frozenset[str]
) -> Mapping[str, Any] | None:
    """The codemod's plan, told the run's rule codes when its plan() takes them (see
    AsyncfixCodemod.plan); a plan() of two parameters reads the configuration alone."""
    plan: Callable[..., Mapping[str, Any] | None] = codemod.plan
    if "enabled" in inspect.signature(plan).parameters:
        return plan(index, config, enabled=enabled)
    return plan(index, config)


def _check_family_tables(config: Config, codemods: Sequence[type[AsyncfixCodemod]]) -> None:
    """A `[tool.asyncfix.<family>]` table for a family none of whose codemods reads options
    is a mistake (a typo'd family, an option put in the wrong table): say so."""
    for family, options in config.families.items():
        members = [c for c in codemods if family == c.FAMILY]
        if options and members and not any(_overrides(c, "check_config") for c in members):
            where = f"{config.source}: " if config.source else ""
            keys = ", ".join(map(repr, options))
            raise ConfigError(f"{where}[tool.asyncfix.{family}] takes no options (got {keys})")


# -- running over many files -------------------------------------------------------------

_WORKER: Pipeline | None = None


def _init_worker(config: Config, cache: ResultCache | None = None) -> None:
    global _WORKER
    as_child()
    gc.set_threshold(*_GC_THRESHOLDS)
    # A worker indexes one file at a time (prescreens, then transforms): the plans' budget
    # of asts would only keep files it is done with.
    TREES.budget = _WORKER_TREE_LINES
    _WORKER = Pipeline(config, cache=cache)
    gc.freeze()  # what the worker starts with (modules, codemods) is never garbage


def _start_pool(jobs: int, config: Config, cache: ResultCache | None) -> ProcessPoolExecutor:
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


# A file for a worker: its bytes, its plans, its cache key (see Pipeline.triage) and its
# facts, pickled, when a worker indexed it already (see _index_apart).
Task = tuple[SourceFile, bytes, dict[str, Any] | None, str | None, bytes | None]


def _process_chunk(tasks: list[Task]) -> list[FileOutcome]:
    assert _WORKER is not None
    outcomes = []
    for file, data, plans, key, facts in tasks:
        if facts is not None:
            # The screens and codemods that index the module find it done: a fraction of
            # the cost of indexing it again.
            remember(pickle.loads(facts), data)
        outcomes.append(_WORKER.rewrite_file(file, data, plans, key))
        if outcomes[-1].parsed:
            # A libcst tree with its scopes is a web of cycles that the raised thresholds
            # would keep for many more files: free it now (stdlib peak: 755 -> 698 MB).
            gc.collect()
    return outcomes


def _chunks(files: list[Task], jobs: int) -> list[list[Task]]:
    size = max(1, min(64, len(files) // (jobs * 4) or 1))
    return [files[i : i + size] for i in range(0, len(files), size)]


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
        with _fewer_collections():
            return _run(paths, config, jobs, progress, cache, shard)
    finally:
        use_layout(None)  # the run's project: not the next caller's


def _project(
    paths: Sequence[Path], named: list[SourceFile], config: Config
) -> tuple[list[SourceFile], frozenset[str] | None, Layout]:
    """(every file of the project, the display paths of the `named` files when they are
    not all of them, the project's layout). Cross-file decisions see the whole project (the
    nearest pyproject.toml or .git above `paths`) even when only some of its files are
    given, as a pre-commit hook gives them: a rewrite that needs a change in a file not
    given is then refused (see ProjectIndex.outside)."""
    root = project_root(paths)
    every = named
    # (nothing given, nothing to change: no need to read the project)
    if named and root is not None and any(Path(os.path.realpath(p)) != root for p in paths):
        whole, _ = discover([root], config.exclude, base=config.root)  # (their errors too)
        known = {os.path.realpath(f.path) for f in named}
        more = [f for f in whole if os.path.realpath(f.path) not in known]
        every = sorted([*named, *more], key=lambda f: f.display)
    given = frozenset(f.display for f in named) if len(every) > len(named) else None
    layout = Layout.of(root, (Path(os.path.realpath(f.path)) for f in every))
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
    with _fewer_collections():
        files: Sequence[SourceFile] = [file]
        contents: Mapping[str, bytes | SourceError] = {file.display: data}
        modules: Mapping[str, ModuleInfo | None] | None = None
        if project is not None:
            config = replace(config, layout=project.layout)
            known = any(f.display == file.display for f in project.files)
            files = project.files if known else [*project.files, file]
            contents, modules = {**project.contents, file.display: data}, project.modules
        pipeline = Pipeline(config)
        given = None if project is None else {file.display}
        plans = pipeline.make_plans(files, contents, modules, given)
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


# Parsing makes millions of small objects and almost no reference cycles: with Python's
# default thresholds the collector walks them over and over (a third of a libcst parse).
_GC_THRESHOLDS = (50_000, 20, 20)
_WORKER_TREE_LINES = 5_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _run(
    paths: Sequence[Path],
    config: Config,
    jobs: int | None,
    progress: Callable[[int, int], None] | None,
    cache: bool | ResultCache,
    shard: tuple[int, int] | None,
) -> RunResult:
    started = time.perf_counter()
    named, errors = discover(paths, config.exclude, base=config.root, force=config.force_exclude)
    every, given, layout = _project(paths, named, config)
    config = replace(config, layout=layout)
    contents = _read_all(every)
    files = named if shard is None else [f for f in named if in_shard(f.display, *shard)]
    result_cache = None
    if cache:
        result_cache = cache if isinstance(cache, ResultCache) else ResultCache.for_run(config)
    # A rerun over the same bytes is served whole, before the codemods are even imported.
    run_key = None
    readable = [(f, d) for f in every if isinstance(d := contents[f.display], bytes)]
    if result_cache is not None and len(readable) == len(every):
        run_key = result_cache.run_key(readable, shard, given)
        outcomes = _outcomes_from_cache(result_cache, run_key, files, contents)
        if outcomes is not None:
            return _result(outcomes, errors, started)

    pipeline = Pipeline(config, cache=result_cache)  # validates the selection first
    jobs = max(1, jobs or os.cpu_count() or 1)
    # A pool costs ~50 ms to start: worth it only for more than a handful of files. Its
    # workers fork BEFORE the plans are made, while this process is small: forked later,
    # each would share (and, as it touches them, copy) the project index's pages.
    candidates = (d for d in contents.values() if isinstance(d, bytes) and pipeline.may_match(d))
    pool = None
    large = any(isinstance(d, bytes) and len(d) > IN_PROCESS_BYTES for d in contents.values())
    if large or (jobs > 1 and len(list(islice(candidates, 2 * jobs))) == 2 * jobs):
        pool = _start_pool(jobs, config, result_cache)
    try:
        modules: dict[str, ModuleInfo | None] = {}
        facts: dict[str, bytes] = {}
        if pool is not None:
            modules, facts, pool = _index_apart(pool, pipeline, every, contents, jobs, result_cache)
        plans = _plan(
            pipeline,
            every,
            contents,
            apart=pool is not None,
            jobs=jobs,
            modules=modules,
            given=given,
        )
        del modules  # the plans are made: no need for the facts beside the workers
        outcomes = []
        tasks: list[Task] = []
        for file in files:
            data = contents[file.display]
            if isinstance(data, SourceError):
                outcomes.append(_failed(file, data.message, data.line, data.column))
                continue
            done, key = pipeline.triage(file, data, plans.get(file.display))
            if done is None:
                tasks.append((file, data, plans.get(file.display), key, facts.get(file.display)))
            else:
                outcomes.append(done)
        with _stop_on_signals() as stop:
            inline: list[Task] = []
            if pool is None or len(tasks) < 2 * jobs:
                inline = [t for t in tasks if pool is None or len(t[1]) <= IN_PROCESS_BYTES]
                for i, task in enumerate(inline, 1):
                    if stop.is_set():
                        raise Interrupted
                    file, data, plans_of_file, key, _ = task  # (a few files: indexed again)
                    outcomes.append(pipeline.rewrite_file(file, data, plans_of_file, key))
                    if progress:
                        progress(i, len(tasks))
                tasks = [t for t in tasks if pool is not None and len(t[1]) > IN_PROCESS_BYTES]
            if tasks:
                assert pool is not None
                rest = _shifted(progress, len(inline))
                outcomes.extend(_run_pool(pool, tasks, config, jobs, rest, stop, result_cache))
    except BaseException:
        if pool is not None:
            _kill(pool)  # not merely shut down: a worker may be deep in a large file
            if result_cache is not None:
                result_cache.remove_temporaries()  # a killed worker may have been writing
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    if run_key is not None and result_cache is not None:
        result_cache.put_run(run_key, outcomes)
    return _result(outcomes, errors, started)


def _shifted(
    progress: Callable[[int, int], None] | None, offset: int
) -> Callable[[int, int], None] | None:
    """`progress` for the files after the first `offset`, which are done."""
    if progress is None or not offset:
        return progress
    return lambda done, total: progress(offset + done, offset + total)


# What a planning child works on; set just before it forks (see _plan).
_PLANNING: (
    tuple[
        Pipeline,
        Sequence[SourceFile],
        Mapping[str, bytes | SourceError],
        Mapping[str, ModuleInfo | None],
        Collection[str] | None,
    ]
    | None
) = None


def _index_chunk(files: list[tuple[SourceFile, bytes]]) -> list[bytes | None]:
    """A worker's share of the project index (see `_index_apart`): each module's facts,
    pickled, without its bytes (the parent has them) or its tree (parsed again where a
    plan asks for it)."""
    found = []
    for file, data in files:
        info = index_module(file, data)
        # A copy: the index's cache holds `info` itself, which must keep its bytes.
        facts = None if info is None else replace(info, data=b"")
        found.append(None if facts is None else pickle.dumps(facts, pickle.HIGHEST_PROTOCOL))
    forget()
    return found


def _index_apart(
    pool: ProcessPoolExecutor,
    pipeline: Pipeline,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    jobs: int,
    cache: ResultCache | None,
) -> tuple[dict[str, ModuleInfo | None], dict[str, bytes], ProcessPoolExecutor]:
    """The modules every plan indexes in any case (`INDEXES`), indexed by the workers,
    which wait for the plans anyway: each planning process would index them all again
    (they were most of a plan's time). Returns them, their facts still pickled for the
    workers that rewrite them, which would index them again too, and the pool; a pool a
    worker died in is replaced, and the plans then index for themselves."""
    tokens = {token for planner in pipeline.planners() for token in planner.INDEXES}
    todo = [
        (file, data)
        for file in files
        if isinstance(data := contents[file.display], bytes) and any(t in data for t in tokens)
    ]
    found: dict[str, ModuleInfo | None] = {}
    pickled: dict[str, bytes] = {}
    if not todo:
        return found, pickled, pool
    size = -(-len(todo) // (jobs * 4))  # (rounded up)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    with _stop_on_signals() as stop:
        futures = [pool.submit(_index_chunk, chunk) for chunk in chunks]
        try:
            for chunk, future in zip(chunks, futures, strict=True):
                while not wait([future], timeout=0.1).done:
                    if stop.is_set():
                        raise Interrupted
                for (file, data), facts in zip(chunk, future.result(), strict=True):
                    info = None
                    if facts is not None:
                        info = pickle.loads(facts)
                        info.data = data
                        pickled[file.display] = facts
                    found[file.display] = info
        except Interrupted:
            _kill(pool)
            raise
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            return {}, {}, _start_pool(jobs, pipeline.config, cache)
    return found, pickled, pool


def _plan(
    pipeline: Pipeline,
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    *,
    apart: bool,
    jobs: int = 1,
    modules: Mapping[str, ModuleInfo | None] | None = None,
    given: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The plans; `apart`: made in forked children that exit when done, up to `jobs` of
    them, each making the plans of some codemods. The project index peaks at a few
    hundred MB on a large tree, and memory Python has freed stays with the process that
    used it: made here, it would sit beside the workers all run. `modules`: facts indexed
    already (see `_index_apart`); `given`: see Pipeline.make_plans."""
    global _PLANNING
    if not apart or "fork" not in multiprocessing.get_all_start_methods():
        return pipeline.make_plans(files, contents, modules, given)
    groups = _plan_groups(pipeline.planners(), jobs)
    if not groups:
        return {}
    # The children inherit them: nothing is pickled.
    _PLANNING = (pipeline, files, contents, modules or {}, given)
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
                each.update(plans)
        finally:
            _PLANNING = None
            for process, _ in children:
                if process.is_alive():
                    process.kill()
                process.join()
    return pipeline.combine_plans(each)


def _plan_groups(
    planners: Sequence[type[AsyncfixCodemod]], jobs: int
) -> list[list[type[AsyncfixCodemod]]]:
    """The planners dealt out to at most `jobs` processes: a family's stay together (they
    share their scans of the project), the costliest family first, each to the least
    loaded process (by PLAN_COST)."""
    families: dict[str, list[type[AsyncfixCodemod]]] = {}
    for planner in planners:
        families.setdefault(planner.FAMILY, []).append(planner)
    groups: list[list[type[AsyncfixCodemod]]] = [[] for _ in range(max(1, jobs))]
    loads = [0.0] * len(groups)
    for family in sorted(families.values(), key=lambda f: -sum(c.PLAN_COST for c in f)):
        lightest = loads.index(min(loads))
        groups[lightest] += family
        loads[lightest] += sum(c.PLAN_COST for c in family)
    return [group for group in groups if group]


def _planned(sender: Connection, planners: Sequence[type[AsyncfixCodemod]], children: int) -> None:
    """A planning child: sends (True, plans of `planners`) or (False, the exception)."""
    as_child()  # the parent decides, as for the workers
    # The planning children share the memory one planning process would have.
    TREES.budget //= children
    assert _PLANNING is not None
    pipeline, files, contents, modules, given = _PLANNING
    try:
        sender.send((True, pipeline.plan_each(planners, files, contents, modules, given)))
    except Exception as exc:  # a bug in a plan: raised again in the parent
        try:
            sender.send((False, exc))
        except Exception:  # not picklable
            sender.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    sender.close()


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


def _run_pool(
    pool: ProcessPoolExecutor,
    tasks: list[Task],
    config: Config,
    jobs: int,
    progress: Callable[[int, int], None] | None,
    stop: threading.Event,
    cache: ResultCache | None = None,
) -> list[FileOutcome]:
    outcomes: list[FileOutcome] = []
    done = 0
    lost: list[Task] = []  # the files of chunks whose worker died
    with pool:
        futures: list[tuple[list[Task], Future[list[FileOutcome]]]] = [
            (chunk, pool.submit(_process_chunk, chunk)) for chunk in _chunks(tasks, jobs)
        ]
        try:
            for chunk, future in futures:
                while not wait([future], timeout=0.1).done:
                    if stop.is_set():
                        raise Interrupted
                try:
                    outcomes.extend(future.result())
                except BrokenProcessPool:
                    lost.extend(chunk)
                    continue
                except Exception as exc:  # a result that could not be sent back
                    message = f"worker failed: {type(exc).__name__}: {exc}"
                    outcomes.extend(_failed(task[0], message) for task in chunk)
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


def _failed(file: SourceFile, message: str, line: int = 1, column: int = 1) -> FileOutcome:
    outcome = FileOutcome(file)
    outcome.errors.append(FileError(file.display, line, column, message))
    return outcome


def _isolate(
    tasks: list[Task], config: Config, stop: threading.Event, cache: ResultCache | None
) -> list[FileOutcome]:
    """Process `tasks` in one worker, in order: when it dies, the file it was on is the
    culprit (reported, left unchanged) and a fresh worker takes the rest."""
    outcomes: list[FileOutcome] = []
    while tasks:
        with ProcessPoolExecutor(1, initializer=_init_worker, initargs=(config, cache)) as pool:
            futures = [pool.submit(_process_chunk, [task]) for task in tasks]
            remaining: list[Task] = []
            try:
                for i, future in enumerate(futures):
                    while not wait([future], timeout=0.1).done:
                        if stop.is_set():
                            raise Interrupted
                    try:
                        outcomes.extend(future.result())
                    except BrokenProcessPool:
                        outcomes.append(_failed(tasks[i][0], WORKER_DIED))
                        remaining = tasks[i + 1 :]
                        break
                    except Exception as exc:
                        message = f"worker failed: {type(exc).__name__}: {exc}"
                        outcomes.append(_failed(tasks[i][0], message))
            except BaseException:
                _kill(pool)
                raise
        tasks = remaining
    return outcomes
