"""The screen: a cheap walk of the stdlib ast that says whether a module has a call AF501
or AF502 may report; false means the transform would change nothing. The codemod's
prescreen (`screen_forgotten_await`) and its transform's own screen both ask it. Imports
no libcst."""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from asyncfix.codemods.awaits._shared import (
    FORGOTTEN_AWAIT,
    LOOP_CLASS,
    LOOP_TASK_FACTORY,
    TASK_FACTORIES,
    canonical,
    last_part,
    result_attribute,
    root_of,
)
from asyncfix.codemods.awaits.facts import ProjectFacts, module_facts
from asyncfix.codemods.awaits.own_scope import NODE_FIELDS, ScreenedDef, node_fields
from asyncfix.codemods.awaits.screen_types import ASYNC_METHODS, ScreenTypes, Types
from asyncfix.codemods.awaits.table_words import CLASS_WORDS, REACH, TRIGGER_WORDS
from asyncfix.codemods.speed.partial import Outline, cut, outline
from asyncfix.codemods.speed.screens import every_node
from asyncfix.codemods.view import SourceView
from asyncfix.data import coroutines as table
from asyncfix.files import SourceFile
from asyncfix.index import ModuleInfo, identifier_bytes, index_module, walk_statements, words_of


def _coroutine_names(info: ModuleInfo, facts: ProjectFacts) -> tuple[set[str], set[str], bool]:
    """(qualified names a call can resolve to and be a coroutine function, method names a
    call on a typed receiver can be a coroutine under, whether asyncio is reachable).

    The transform types a receiver only with a name resolved through `info.resolve`
    (through the module's imports, its own top-level names, or as written, imported or
    not, even in a string annotation) or with a project return type: so a table class is
    reachable only when its library is (imported, the module's own package, spelled in
    the source or a project return type) and a word naming it is in the source."""
    data = identifier_bytes(info.data)  # (identifiers are NFKC-normalised)
    # Whole words, from the source's word runs: linear, where an alternation of several
    # hundred words is not.
    words = {w.decode() for w in TRIGGER_WORDS.intersection(words_of(data))}
    returned = {canonical(v) for v in facts.returns.values()}
    returned |= {*facts.variables.values(), *facts.aliases.values()}
    words |= {last_part(v) for v in returned}
    roots = {root_of(v) for v in info.imports.values()} | {root_of(r) for r in returned}
    roots |= {root_of(info.name)} | (words & REACH.keys())
    reached: set[str] = set()
    for root in roots & REACH.keys():
        reached |= REACH[root]
    qualified = set(facts.coroutines)
    methods = {q.rsplit(".", 1)[-1] for q in facts.coroutines}
    for library in set(facts.inherited.values()):  # a project subclass's inherited methods
        methods.update(table.SUBCLASSED[library]["coroutine"])
    for root in reached:
        qualified |= _FUNCTIONS_BY_ROOT.get(root, _NO_NAMES)
        for name, kinds in _CLASSES_BY_ROOT.get(root, ()):
            if name in returned or CLASS_WORDS[name] & words:
                methods |= kinds
    return qualified, methods, "asyncio" in reached


# The table's functions, and its classes with their coroutine and future methods, by
# library root: a module reaches a few roots, and each file asked them of every entry.
_NO_NAMES: frozenset[str] = frozenset()
_FUNCTIONS_BY_ROOT = {
    root: frozenset(f for f in table.FUNCTIONS if root_of(f) == root)
    for root in {root_of(f) for f in table.FUNCTIONS}
}


def _classes_by_root() -> dict[str, list[tuple[str, frozenset[str]]]]:
    found: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for name, kinds in table.CLASSES.items():
        methods = frozenset([*kinds["coroutine"], *kinds["future"]])
        found.setdefault(root_of(name), []).append((name, methods))
    return found


_CLASSES_BY_ROOT = _classes_by_root()


def _typed_method(func: ast.expr) -> str | None:
    """m, for `x.m` where `type_of` may type the receiver: a name, a call, an await, or an
    item of one (`client.db.coll`, `client["db"]["coll"]`)."""
    if isinstance(func, ast.Attribute) and isinstance(
        func.value, ast.Name | ast.Call | ast.Await | ast.Attribute | ast.Subscript
    ):
        return func.attr
    return None


def _typed_call(func: ast.expr, methods: set[str]) -> bool:
    """`x.m()` with m one of `methods` and a receiver `type_of` may type."""
    method = _typed_method(func)
    return method is not None and method in methods


# The nodes in whose position `_Screen._call` asks about a call (see `_may_find`).
_POSITIONS: dict[type[ast.AST], str] = {
    **dict.fromkeys([ast.Expr, ast.Assign, ast.Attribute, ast.Subscript], "value"),
    **dict.fromkeys([ast.For, ast.AsyncFor, ast.comprehension], "iter"),
}

_INHERITED_METHODS = {
    name: frozenset(kinds["coroutine"]) for name, kinds in table.SUBCLASSED.items()
}


# A call `_Screen._call` is asked about: (its line, `func.attr` when `_typed_call` may
# accept it, its resolved callee (`canonical`), whether its result is dropped).
CallSite = tuple[int, str | None, str | None, bool]


def call_sites(info: ModuleInfo, tree: ast.Module) -> list[CallSite]:
    """Each call in a position `_Screen._call` is asked about, from the nodes every screen
    shares, described without its scope: what `_site_may_be` checks of it against the
    names a plan makes coroutines. It reads only the file, so the worker that indexes the
    module makes it (see `may_have_candidate`)."""
    sites: list[CallSite] = []
    for node in every_node(tree):
        kind = type(node)
        field = _POSITIONS.get(kind)
        if field is None:
            continue
        call = getattr(node, field)
        if type(call) is not ast.Call:
            continue
        if kind is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            if not result_attribute(node.attr):
                continue
        elif kind is ast.Assign:
            assert isinstance(node, ast.Assign)
            if len(node.targets) != 1 or type(node.targets[0]) is not ast.Name:
                continue  # (see _statement_position)
        assert isinstance(call, ast.Call)
        func = call.func
        resolved = info.resolve(func)
        name = None if resolved is None else canonical(resolved)
        sites.append((call.lineno, _typed_method(func), name, kind is ast.Expr))
    return sites


def _site_may_be(
    attr: str | None, name: str | None, dropped: bool, qualified: set[str], methods: set[str]
) -> bool:
    """May the walk find this call site (see `_candidate_lines`)?"""
    return (attr is not None and attr in methods) or (
        name is not None and (name in qualified or (dropped and name in TASK_FACTORIES))
    )


class _Found(Exception):
    """A call the transform may report: the screen stops there."""


class _Screen(ScreenTypes):
    """`has_candidate`'s walk: each call in a position AF501/AF502 look at (see
    `_usage`), with the def whose own scope it is in (None at module or class level, or
    where libcst's scope is not modelled), checked against an over-approximation of
    `coroutine_kind` / `_dropped_task`: a receiver's possible classes (`type_of`) and,
    for `name = call()`, whether the name may be used only as the result."""

    def __init__(self, info: ModuleInfo, facts: ProjectFacts) -> None:
        self.info = info
        self.facts = facts
        self.qualified, self.methods, self.loops = _coroutine_names(info, facts)
        self._project_called = None  # (made when the walk first asks: see ScreenTypes)
        # Names an import binds in the module's scope: `type_of` gives such a name no
        # class (one binding, an import; or several), so `time.sleep()` or
        # `unittest.main()` is no candidate where the name is looked up there.
        self.imported: frozenset[str] = frozenset()
        self._lines: list[int] | None = None  # see _candidate_lines
        self._in_module = False  # the expressions walked are the module's own (not a
        self._in_def = False  # class body's, a lambda's); some def encloses them

    def seeks_nothing(self) -> bool:
        """No call can be a candidate here (a task factory resolves to asyncio, which is
        then reachable: `loops`)."""
        return not self.qualified and not self.methods and not self.loops

    def found(self, tree: ast.Module, noted: SiteLines | None = None) -> bool:
        """`noted`: the module's `site_lines`, when the worker that indexed it made them."""
        if self.seeks_nothing():
            return False
        self._lines = self._candidate_lines(tree) if noted is None else self._noted_lines(noted)
        if self._lines is not None and not self._lines:
            return False
        self.imported = frozenset(_module_imports(tree))
        return self._walked(tree)

    def found_in_cut(self, data: bytes, noted: SiteLines) -> bool | None:
        """`found` on the module of `data` without its tree: its `site_lines` give the
        candidate lines and the names its imports bind, and the walk goes over the
        statements that span those lines, parsed from them alone (`partial.cut`), which
        are all it enters. None where that cut cannot be made."""
        if self.seeks_nothing():
            return False
        self._lines = self._noted_lines(noted)
        if not self._lines:
            return False
        tree = cut(data, noted.shape, self._lines)
        if tree is None:
            return None
        self.imported = noted.imported
        return self._walked(tree)

    def _walked(self, tree: ast.Module) -> bool:
        try:
            self._statements(tree.body, None, "")
        except _Found:
            return True
        return False

    def _candidate_lines(self, tree: ast.Module) -> list[int] | None:
        """The lines of the calls the walk may find (sorted; None: not known, walk it
        all): those of `call_sites` that `_site_may_be` accepts. Most modules have none,
        and the walk below, with the scopes it tracks and several times the cost, enters
        only the statements that span one of these lines."""
        methods = self._sought()
        return sorted(
            line
            for line, attr, name, dropped in call_sites(self.info, tree)
            if _site_may_be(attr, name, dropped, self.qualified, methods)
        )

    def _noted_lines(self, noted: SiteLines) -> list[int]:
        """`_candidate_lines` from the module's `site_lines`, each line once (`_may_hold`
        asks only whether a line falls in a span, so a line listed twice changes nothing)."""
        return candidate_lines(noted, self.qualified, self._sought())

    def _sought(self) -> set[str]:
        """The method names whose typed calls are candidates."""
        return self.methods | {LOOP_TASK_FACTORY} if self.loops else self.methods

    def _may_hold(self, stmt: ast.stmt) -> bool:
        """Could `stmt` hold a call of `_lines`? Its nodes are on its lines, a def's or a
        class's decorators on the lines above."""
        if self._lines is None:
            return True
        start = stmt.lineno
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            start = min([start, *(d.lineno for d in stmt.decorator_list)])
        end = stmt.end_lineno
        at = bisect_left(self._lines, start)
        return at < len(self._lines) and (end is None or self._lines[at] <= end)

    def _statements(
        self, body: list[ast.stmt], function: ScreenedDef | None, owner: str | None
    ) -> None:
        """`owner`: "" at module level, the top-level class whose body this is, or None."""
        outer = self._in_module, self._in_def
        self._in_module = function is None and owner == ""
        self._in_def = self._in_def or function is not None
        try:
            self._walk_statements(body, function, owner)
        finally:
            self._in_module, self._in_def = outer

    def _walk_statements(
        self, body: list[ast.stmt], function: ScreenedDef | None, owner: str | None
    ) -> None:
        for stmt in body:
            if not self._may_hold(stmt):
                continue  # (no call in it that the walk may find)
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                # What the def evaluates where it stands: not modelled (function None).
                self._expressions([*stmt.decorator_list, stmt.args], None)
                self._expressions([stmt.returns] if stmt.returns else [], None)
                method = ScreenedDef(stmt, owner or None, not self._in_def)
                self._statements(stmt.body, method, None)
                continue
            if isinstance(stmt, ast.ClassDef):
                self._expressions([*stmt.decorator_list, *stmt.bases, *stmt.keywords], None)
                top = f"{self.info.name}.{stmt.name}" if owner == "" else None
                self._statements(stmt.body, None, top)
                continue
            self._statement_position(stmt, function)
            for name in node_fields(type(stmt)):
                value = getattr(stmt, name)
                if name in ("body", "orelse", "finalbody"):
                    self._statements(value, function, owner)
                elif name == "handlers":
                    for handler in value:
                        self._expressions([handler.type] if handler.type else [], function)
                        self._statements(handler.body, function, owner)
                elif name == "cases":  # (a pattern holds no call)
                    for case in value:
                        self._expressions([case.guard] if case.guard else [], function)
                        self._statements(case.body, function, owner)
                elif isinstance(value, list):
                    self._expressions(value, function)
                elif value is not None:
                    self._expressions([value], function)

    def _statement_position(self, stmt: ast.stmt, function: ScreenedDef | None) -> None:
        if isinstance(stmt, ast.Expr):
            value = stmt.value
        elif isinstance(stmt, ast.Assign):
            # A single name, which may be used only as the result.
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                return
            value = stmt.value
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            value = stmt.iter
        else:
            return
        if isinstance(value, ast.Call):
            self._call(stmt, value, function)

    def _expressions(self, nodes: list[Any], function: ScreenedDef | None) -> None:
        """The positions below `nodes` (no statement among them), iteratively: the walk
        over every expression of the module is most of the screen's cost."""
        stack = list(nodes)
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Lambda and self._in_module:
                # Its parameters are bound in its own scope, not the module's.
                self._in_module = False
                try:
                    self._expressions([node.args, node.body], function)
                finally:
                    self._in_module = True
                continue
            if kind is ast.Attribute:
                # An attribute of the coroutine object itself is not a use of its result.
                if type(node.value) is ast.Call and result_attribute(node.attr):
                    self._call(node, node.value, function)
            elif kind is ast.Subscript:
                if type(node.value) is ast.Call:
                    self._call(node, node.value, function)
            elif kind is ast.comprehension and type(node.iter) is ast.Call:
                self._call(node, node.iter, function)
            fields = NODE_FIELDS.get(kind)
            for name in node_fields(kind) if fields is None else fields:
                value = getattr(node, name)
                if type(value) is list:
                    stack.extend(value)
                elif value is not None:
                    stack.append(value)

    def _call(self, node: ast.AST, call: ast.Call, function: ScreenedDef | None) -> None:
        func = call.func
        # `_qualified`: a dotted name, resolved through the imports.
        resolved = self.info.resolve(func)
        resolved = canonical(resolved) if resolved is not None else None
        dropped = isinstance(node, ast.Expr)
        if dropped and resolved in TASK_FACTORIES:
            raise _Found  # AF502 (`_dropped_task`): a task factory's result dropped
        if dropped and self.loops and _typed_call(func, {LOOP_TASK_FACTORY}):
            assert isinstance(func, ast.Attribute)
            receiver = self.types(func.value, function, 0)
            if receiver is None or LOOP_CLASS in receiver:
                raise _Found  # AF502: `loop.create_task()`
        if not self._may_be_coroutine(func, resolved, function):
            return
        if not isinstance(node, ast.Assign) or self._may_be_result(node, function):
            raise _Found

    def _may_be_coroutine(
        self, func: ast.expr, resolved: str | None, function: ScreenedDef | None
    ) -> bool:
        """`coroutine_kind`, no unless maybe."""
        if resolved in self.qualified:
            return True
        if not _typed_call(func, self.methods):
            return False
        assert isinstance(func, ast.Attribute)
        return self._may_have_coroutine(self.types(func.value, function, 0), func.attr)

    def _may_have_coroutine(self, receiver: Types, method: str) -> bool:
        """Can `coroutine_kind` find `method` async on a receiver of these classes?"""
        if receiver is None:
            return True
        return any(
            method in ASYNC_METHODS.get(name, ())
            or f"{name}.{method}" in self.facts.coroutines
            or method in _INHERITED_METHODS.get(self.facts.inherited.get(name, ""), ())
            for name in receiver
        )

    def _may_be_result(self, assign: ast.Assign, function: ScreenedDef | None) -> bool:
        """`_name_used_as_result`, no unless maybe: the single binding of a def's local,
        with no load in the def's own body other than as a result."""
        if function is None:
            return False  # a module or class attribute (or not modelled: see _statements)
        target = assign.targets[0]
        assert isinstance(target, ast.Name)
        scope = function.scope
        if target.id in scope.dirty:
            return True
        return len(scope.bindings.get(target.id, ())) <= 1 and target.id not in scope.not_result


def _module_imports(tree: ast.Module) -> Iterator[str]:
    """The names the imports of the module's own scope bind (not those in defs, classes)."""
    for stmt in walk_statements(tree.body, scopes=False):
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                if alias.name != "*":
                    yield alias.asname or alias.name.split(".")[0]


def has_candidate(
    info: ModuleInfo, facts: ProjectFacts, tree: ast.Module, noted: SiteLines | None = None
) -> bool:
    """A cheap `ast` screen: a call in a position AF501/AF502 look at (see `_usage`) that
    `coroutine_kind` (or `_dropped_task`) may accept. False promises the transform reports
    and changes nothing. `noted`: the tree's `site_lines`, made where it was indexed."""
    return _Screen(info, facts).found(tree, noted)


def screen_forgotten_await(view: SourceView) -> bool:
    """ForgottenAwait's SCREEN, and its screen again in `transform`: index_module caches
    its facts by content, so the transform that follows does not index the file again.
    The call sites come from the indexing worker's note when it made them (`view.noted`)."""
    found = screened(view.path, view.source, view.plans.get(FORGOTTEN_AWAIT), view.tree)
    return found is not None and has_candidate(*found, view.noted.get(FORGOTTEN_AWAIT))


def screened(
    path: str, data: bytes, plan: Any, tree: ast.Module | None
) -> tuple[ModuleInfo, ProjectFacts, ast.Module] | None:
    """The module's facts, what it knows of the project (its own and the plan's), and its
    ast: `tree` when the caller has it (the index keeps only so many)."""
    found = _facts(path, data, plan, tree)
    if found is None:
        return None
    info, facts = found
    return info, facts, info.tree if tree is None else tree


def _facts(
    path: str, data: bytes, plan: Any, tree: ast.Module | None = None
) -> tuple[ModuleInfo, ProjectFacts] | None:
    """The module's facts and what it knows of the project (its own and the plan's);
    without `tree`, in a worker sent the facts, no parse."""
    info = index_module(SourceFile(Path(path), path), data, tree)
    if info is None:
        return None
    facts = module_facts(info)
    facts.merge(ProjectFacts.from_plan(plan))
    return info, facts


class SiteLines(NamedTuple):
    """A module's `call_sites` by what `_site_may_be` reads of them (sites with neither
    name are never candidates), and what the walk reads of the module's tree besides the
    statements that span a candidate line (see `_Screen.found_in_cut`)."""

    attrs: dict[str, tuple[int, ...]]  # the lines of the typed calls, by method name
    names: dict[str, tuple[int, ...]]  # the lines of the calls, by resolved callee
    dropped_factories: tuple[int, ...]  # the lines where a task factory's result is dropped
    imported: frozenset[str]  # the names the imports of the module's own scope bind
    shape: Outline  # where its statements are


def site_lines(info: ModuleInfo, tree: ast.Module) -> SiteLines:
    """`call_sites` of the module, as `may_have_candidate` and `_candidate_lines` read
    them, and the rest of `SiteLines` (made where the tree is at hand: the worker that
    indexes the module)."""
    attrs: dict[str, list[int]] = {}
    names: dict[str, list[int]] = {}
    dropped_factories: list[int] = []
    for line, attr, name, dropped in call_sites(info, tree):
        if attr is not None:
            attrs.setdefault(attr, []).append(line)
        if name is not None:
            names.setdefault(name, []).append(line)
            if dropped and name in TASK_FACTORIES:
                dropped_factories.append(line)
    return SiteLines(
        {attr: tuple(lines) for attr, lines in attrs.items()},
        {name: tuple(lines) for name, lines in names.items()},
        tuple(dropped_factories),
        frozenset(_module_imports(tree)),
        outline(tree, info.data),
    )


def candidate_lines(sites: SiteLines, qualified: set[str], methods: set[str]) -> list[int]:
    """The lines of `sites` that `_site_may_be` accepts, sorted, each once."""
    attrs, names = sites.attrs, sites.names
    found = set(sites.dropped_factories)
    for attr in methods.intersection(attrs):
        found.update(attrs[attr])
    for name in qualified.intersection(names):
        found.update(names[name])
    return sorted(found)


def may_have_candidate(path: str, data: bytes, plan: Any, sites: SiteLines) -> bool:
    """`screen_forgotten_await` without the tree, from the module's `site_lines`: False
    exactly where that screen finds no candidate line (`_Screen.found`'s two early
    answers), True where its walk would have to decide."""
    found = _facts(path, data, plan)  # (from the facts it was sent)
    if found is None:
        return True
    screen = _Screen(*found)
    if screen.seeks_nothing():
        return False
    return (
        bool(sites.dropped_factories)
        or not screen._sought().isdisjoint(sites.attrs)
        or not screen.qualified.isdisjoint(sites.names)
    )


def screen_without_tree(path: str, data: bytes, plan: Any, sites: SiteLines) -> bool | None:
    """`screen_forgotten_await` on the module of `data` with this plan, from its
    `site_lines` and the statements that span a candidate line (`_Screen.found_in_cut`);
    None where only the whole tree tells."""
    found = _facts(path, data, plan)  # (from the facts it was sent)
    return None if found is None else _Screen(*found).found_in_cut(data, sites)
