"""One file through the selected codemods: triage, screen, parse once, rewrite, verify."""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncfix import syntax
from asyncfix.cache import CachedResult, ResultCache
from asyncfix.codemods import all_codemods, resolve_selection
from asyncfix.config import Config, ConfigError
from asyncfix.files import SourceError, SourceFile, check_named, check_text, decode, read_bytes
from asyncfix.index import use_layout
from asyncfix.parsing import (
    TOO_DEEP,
    code_of,
    cst_parse,
    deeply,
    guard_depth,
    may_chain_too_long,
)
from asyncfix.report import FileError, Finding, Summary

if TYPE_CHECKING:
    # libcst and the codemods are imported where they are used: a rerun served from the
    # cache never parses, and importing them costs ~0.4 s.
    import libcst as cst

    from asyncfix.codemods.base import AsyncfixCodemod, FileRun
    from asyncfix.codemods.speed.notes import ScreenNote, Split
    from asyncfix.codemods.view import Screen


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
        noted: Mapping[type[AsyncfixCodemod], bool | None] | None = None,
        note: ScreenNote | None = None,
    ) -> frozenset[type[AsyncfixCodemod]] | None:
        """The codemods whose prescreen passes on these bytes (see
        AsyncfixCodemod.prescreen); None when Python's parser could not make the tree
        (newer syntax, perhaps): then libcst decides, and every codemod runs. `noted`:
        the answers `noted` gave for these bytes and plans (None: ask the tree); `note`:
        the `screen_note` of these very bytes, whose parts a prescreen may read."""
        if tree is None or not self.use_prescreens:
            return None
        from asyncfix.codemods.view import SourceView

        parts = {} if note is None else note.parts
        view = SourceView(path, data, tree, self.config, self.enabled, plans or {}, parts)
        noted = noted or {}
        return frozenset(
            c
            for c in self.for_path(path)
            if (c.may_match(data) or c.NAME in view.plans)
            and (c.prescreen(view) if noted.get(c) is None else noted[c])
        )

    def screen_note(self, path: str, data: bytes, tree: ast.Module) -> ScreenNote | None:
        """What the prescreens say of these bytes before the plans (see
        codemods/speed/notes.py), made where `tree` is at hand: by the worker that
        indexes the module, for the one that rewrites it (`noted`). None where a
        prescreen passes whatever the plans: the file's tree will be needed."""
        if not self.use_prescreens:
            return None
        from asyncfix.codemods.speed.notes import SPLITS, ScreenNote
        from asyncfix.codemods.view import SourceView

        view = SourceView(path, data, tree, self.config, self.enabled, {})
        verdicts: dict[str, bool] = {}
        codemods = self.for_path(path)
        for codemod in codemods:
            if _split_of(codemod, SPLITS) is None and codemod.may_match(data):
                if codemod.prescreen(view):
                    # (asked on the file, it passes: the same without a plan, and with
                    # one the note does not answer for it)
                    return None
                verdicts[codemod.NAME] = False
        parts: dict[str, Any] = {}
        for codemod in codemods:
            if (split := _split_of(codemod, SPLITS)) is not None:
                parts[codemod.NAME] = split.part(view)
        return ScreenNote(verdicts, parts)

    def noted(
        self, path: str, data: bytes, note: ScreenNote, plans: Mapping[str, Any] | None
    ) -> dict[type[AsyncfixCodemod], bool | None]:
        """Each codemod `prescreen` asks on these bytes with these plans, and its
        prescreen's answer as `note` (the `screen_note` of the same bytes) gives it
        without the tree: False (it does not pass), or None where only the tree tells.
        A verdict made with no plan holds where the codemod has none: a prescreen reads
        no plan but its own codemod's."""
        from asyncfix.codemods.speed.notes import SPLITS

        plans = plans or {}
        said: dict[type[AsyncfixCodemod], bool | None] = {}
        for codemod in self.for_path(path):
            if not (codemod.may_match(data) or codemod.NAME in plans):
                continue
            answer = None
            split = _split_of(codemod, SPLITS)
            if split is not None:
                part = note.parts.get(codemod.NAME)
                plan = plans.get(codemod.NAME)
                if part is not None and not split.says(path, data, plan, part):
                    answer = False
            elif codemod.NAME not in plans:
                answer = note.verdicts.get(codemod.NAME)
            said[codemod] = answer
        return said

    def walk_noted(
        self,
        path: str,
        data: bytes,
        note: ScreenNote,
        plans: Mapping[str, Any] | None,
        noted: dict[type[AsyncfixCodemod], bool | None],
    ) -> None:
        """Where the `noted` answers leave only prescreens whose split can walk (see
        `Split.walk`) undecided, and no other may pass, each such prescreen's own answer
        (None where only the tree tells), in `noted`: when all are no, the file is not
        parsed again."""
        from asyncfix.codemods.speed.notes import SPLITS

        walks = []
        for codemod, answer in noted.items():
            if answer is None:
                split = _split_of(codemod, SPLITS)
                part = note.parts.get(codemod.NAME)
                if split is None or split.walk is None or part is None:
                    return
                walks.append((codemod, split.walk, part))
            elif answer is not False:
                return
        for codemod, walk, part in walks:
            noted[codemod] = answer = walk(path, data, (plans or {}).get(codemod.NAME), part)
            if answer is not False:
                return

    def planners(self) -> list[type[AsyncfixCodemod]]:
        return [c for c in self.codemods if plans(c)]

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
        from asyncfix.codemods.runner import run_codemods

        run = self.file_run(module, path, data, text, plans, suppress, syntax_tree)
        return run_codemods(self.for_path(path), module, run, screened=screened)

    def file_run(
        self,
        module: cst.Module,
        path: str,
        data: bytes,
        text: str | None = None,
        plans: Mapping[str, Any] | None = None,
        suppress: Mapping[int, frozenset[str] | None] | None = None,
        syntax_tree: ast.Module | None = None,
    ) -> FileRun:
        """What this pipeline's codemods share over `module` (see `rewrite`)."""
        from asyncfix.codemods.runner import file_run

        return file_run(
            module,
            path,
            self.config,
            self.enabled,
            text=text,
            source=data,
            parsed_ast=syntax_tree,
            plans=plans,
            code_families=self.code_families,
            suppress=suppress,
        )

    def for_path(self, path: str) -> list[type[AsyncfixCodemod]]:
        """The codemods that run on `path`: on test code, only those that fix bugs."""
        if self.config.in_test_code(path):
            return [c for c in self.codemods if c.IN_TESTS]
        return self.codemods

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
                return failed(file, exc.message, exc.line, exc.column)
        done, key = self.triage(file, data, plans)
        return done if done is not None else self.rewrite_file(file, data, plans, key)

    def rewrite_file(
        self,
        file: SourceFile,
        data: bytes,
        plans: Mapping[str, Any] | None,
        key: str | None,
        suppress: Mapping[int, frozenset[str] | None] | None = None,
        note: ScreenNote | None = None,
    ) -> FileOutcome:
        """A file that triage did not settle: prescreens, then the libcst parse and the
        codemods if any prescreen passes; the result is stored under `key`. `suppress`:
        see `rewrite` (a partial fix: its output is not checked for idempotence). `note`:
        the prescreens' `screen_note` of these bytes, when a worker indexing it made one."""
        try:
            outcome = self._rewrite_file(file, data, plans, key, suppress, note)
            if not any(error.message == TOO_DEEP for error in outcome.errors):
                return outcome
        except RecursionError:  # (in the verifying second run)
            pass
        # Nested past what the default recursion limit allows libcst's visitors: again, on
        # a thread with room for all the nesting CPython accepts (see `deeply`).
        try:
            return deeply(lambda: self._rewrite_file(file, data, plans, key, suppress, note))
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
        note: ScreenNote | None = None,
    ) -> FileOutcome:
        outcome = FileOutcome(file, original=data)
        try:
            text, outcome.encoding = decode(data)
            tree: ast.Module | None = None
            noted = None if note is None else self.noted(file.display, data, note, plans)
            chained = may_chain_too_long(data)  # (guard_depth would read the tree)
            if noted is not None and note is not None and not chained:
                self.walk_noted(file.display, data, note, plans, noted)
            if noted is not None and all(a is False for a in noted.values()) and not chained:
                # No prescreen passes, as the note of the worker that indexed (and so
                # parsed) these bytes tells, or a walk over the few statements it needs,
                # parsed alone (`walk_noted`): no parse again.
                screened: frozenset[type[AsyncfixCodemod]] | None = frozenset()
            elif (tree := guard_depth(data)) is not None and not plans and not self.may_match(data):
                screened = frozenset()  # (named, valid)
            else:
                screened = self.prescreen(data, tree, file.display, plans, noted, note)
            if not screened and screened is not None:
                # No codemod can act here: no libcst parse at all.
                if key is not None and self.cache is not None:
                    self.cache.put(key, CachedResult(outcome.encoding, [], None, set(), False))
                    outcome.cache_key = key
                return outcome
            module, feeds = cst_parse(data)
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
        new = (
            data
            if run.result is module
            else code_of(run.result, source, feeds, run.bytes_of(run.result))
        )
        run.release()  # (its scopes freed now: see FileCaches.release)
        if new != data:
            # Sites suppressed by line (an editor's one fix, apply --min-share) are fixed
            # by a second run: no idempotence to check, only that it parses and compiles.
            whole = suppress is None and not self.config.suppress
            problem = self.verify(data, new, text, file.display, plans, whole)
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

    def verify(
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
            tree = guard_depth(new)
            screened = self.prescreen(new, tree, path, plans)
            module, feeds = cst_parse(new) if screened or screened is None else (None, None)
        except SourceError as exc:
            return f"would not parse ({exc.message} at {exc.line}:{exc.column})"
        if syntax.compiles(old_text, path) and not syntax.compiles(new_text, path):
            return "would not compile"
        if module is None or not whole:
            return None  # Python parses it, and no codemod would act on it again
        source = new if feeds is None else feeds.stripped
        second = self.rewrite(
            module, source, new_text, path, plans, syntax_tree=tree, screened=screened
        )
        again = second.result
        second.release()
        if again is None or code_of(again, source) != source:
            return "is not idempotent (a second run changes it again)"
        return None


def _split_of(codemod: type[AsyncfixCodemod], splits: Mapping[Screen, Split]) -> Split | None:
    """The split form of the codemod's prescreen (see codemods/speed/notes.py), if any:
    only where the prescreen is its SCREEN."""
    if codemod.SCREEN is None or overrides(codemod, "prescreen"):
        return None
    return splits.get(codemod.SCREEN)


def overrides(codemod: type[AsyncfixCodemod], method: str) -> bool:
    """Does the codemod define its own `method`?"""
    from asyncfix.codemods.base import AsyncfixCodemod

    return any(method in vars(k) for k in codemod.__mro__ if k is not AsyncfixCodemod)


def plans(codemod: type[AsyncfixCodemod]) -> bool:
    """Does the codemod make a plan (it needs the project index)?"""
    return overrides(codemod, "plan") or codemod.PLANNER is not None


def _check_family_tables(config: Config, codemods: Sequence[type[AsyncfixCodemod]]) -> None:
    """A `[tool.asyncfix.<family>]` table for a family none of whose codemods reads options
    is a mistake (a typo'd family, an option put in the wrong table): say so."""
    for family, options in config.families.items():
        members = [c for c in codemods if family == c.FAMILY]
        if options and members and not any(overrides(c, "check_config") for c in members):
            where = f"{config.source}: " if config.source else ""
            keys = ", ".join(map(repr, options))
            raise ConfigError(f"{where}[tool.asyncfix.{family}] takes no options (got {keys})")


def failed(file: SourceFile, message: str, line: int = 1, column: int = 1) -> FileOutcome:
    """The outcome of a file that could not be processed."""
    outcome = FileOutcome(file)
    outcome.errors.append(FileError(file.display, line, column, message))
    return outcome
