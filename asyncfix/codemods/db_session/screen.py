"""The family's prescreens, on the stdlib ast: could a pass change or report anything
here? `screen_session` (AF401-AF403) and `screen_sync_session` (AF404), named as the
codemods' SCREEN and asked again as their libcst screen. Imports no libcst."""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from asyncfix.codemods.db_session.names import (
    ADD_TASK,
    BEGIN,
    CREATE_ALL,
    DEPENDENCY_CALLEES,
    DEPENDS_TAILS,
    HEADS,
    MAKER_TAILS,
    MAKER_TOKEN,
    SESSION_PASS,
    SESSION_TAILS,
    SESSION_WORD,
    START_METHODS,
    SYNC_PASS,
    SYNC_TAILS,
    SYNC_TOKENS,
    YIELD_TOKEN,
)
from asyncfix.codemods.shared.routes import route_decorator
from asyncfix.codemods.speed.screens import every_node, node_fields
from asyncfix.codemods.view import SourceView
from asyncfix.index import walk_statements

# Conservative: False promises that the pass would neither change nor report anything, so
# each check accepts every shape the pass acts on, and a little more. Cheap tests on the
# bytes come first: most files are never walked.

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Own:
    """What a function's own body (as own_nodes() sees it) holds for the screens."""

    yielded: set[str] = field(default_factory=set)  # `yield name`
    made: list[tuple[ast.expr, ast.Call]] = field(default_factory=list)  # `x = F()`, `as x`
    calls: list[ast.Call] = field(default_factory=list)


@dataclass
class _Facts:
    """What the screens need from a module's stdlib ast, gathered in one walk."""

    shapes: bool = False  # one of the shapes the AF401-AF403 pass starts from
    aliases: list[ast.alias] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)  # names bound by imports
    heads: bool = False  # a class named like one of HEADS: then any name may resolve
    functions: dict[FunctionNode, _Own] = field(default_factory=dict)
    calls: list[ast.Call] = field(default_factory=list)
    made: list[tuple[ast.expr, ast.Call]] = field(default_factory=list)  # `x = call(...)`


# Both codemods screen the same tree, one after the other: walk it once.
_last_facts: tuple[ast.Module, _Facts] | None = None


def is_route(node: ast.AST) -> bool:
    """An async path operation: `@<router>.get(...)` and the like on an async def."""
    return isinstance(node, ast.AsyncFunctionDef) and any(
        route_decorator(d) for d in node.decorator_list
    )


# Nodes with nothing below them that a screen asks about (a Name's context, a constant).
_LEAVES = frozenset({ast.Name, ast.Constant})


def screen_facts(tree: ast.Module) -> _Facts:
    global _last_facts
    if _last_facts is not None and _last_facts[0] is tree:
        return _last_facts[1]
    facts = _Facts()
    # Each node with the function whose own body it is in: own_nodes() enters neither
    # nested functions (they have their own) nor classes and lambdas. Names and constants
    # (most of the nodes) hold nothing asked here: they are never stacked.
    stack: list[tuple[ast.AST, _Own | None]] = [(tree, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node, own = pop()
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            assert isinstance(node, FunctionNode)
            inner = facts.functions[node] = _Own()
            for name in node_fields(kind):
                value = getattr(node, name)
                below = inner if name == "body" else None
                for child in value if type(value) is list else (value,):
                    if child is not None and type(child) not in _LEAVES:
                        push((child, below))
            continue
        if kind is ast.Call:
            assert isinstance(node, ast.Call)
            facts.calls.append(node)
            if own is not None:
                own.calls.append(node)
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in START_METHODS) or (
                isinstance(func, ast.Name) and func.id in MAKER_TAILS
            ):
                facts.shapes = True
        elif kind is ast.Yield:
            assert isinstance(node, ast.Yield)
            if isinstance(node.value, ast.Name):
                facts.shapes = True
                if own is not None:
                    own.yielded.add(node.value.id)
        elif kind is ast.alias:
            assert isinstance(node, ast.alias)
            facts.aliases.append(node)
            facts.imported.add(node.asname or node.name.partition(".")[0])
            facts.shapes = facts.shapes or node.name in MAKER_TAILS
        elif kind is ast.ClassDef:
            assert isinstance(node, ast.ClassDef)
            facts.heads = facts.heads or node.name in HEADS
            own = None
        elif kind is ast.Assign or kind is ast.AnnAssign:
            assert isinstance(node, ast.Assign | ast.AnnAssign)
            if isinstance(node.value, ast.Call):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                made = [(target, node.value) for target in targets]
                facts.made += made
                if own is not None:
                    own.made += made
        elif kind is ast.With or kind is ast.AsyncWith:
            assert isinstance(node, ast.With | ast.AsyncWith)
            if own is not None:
                own.made += [
                    (item.optional_vars, item.context_expr)
                    for item in node.items
                    if item.optional_vars is not None and isinstance(item.context_expr, ast.Call)
                ]
        elif kind is ast.Lambda:
            own = None
        for name in node_fields(kind):
            value = getattr(node, name)
            if type(value) is list:
                for child in value:
                    if child is not None and type(child) not in _LEAVES:
                        push((child, own))
            elif value is not None and type(value) not in _LEAVES:
                push((value, own))
    _last_facts = (tree, facts)
    return facts


class Names:
    """Could libcst's QualifiedNameProvider name an expression with a qualified name that
    ends in one of `tails`? Only through an import, as it resolves names: `x.Session` when
    `x` is imported, `S` when an import binds it to a `...Session`."""

    def __init__(self, facts: _Facts, tails: frozenset[str]) -> None:
        self.tails = tails
        self.names = {
            a.asname or a.name for a in facts.aliases if a.name.rpartition(".")[2] in tails
        }
        self.heads: set[str] | None = facts.imported | HEADS
        if facts.heads:  # class sqlalchemy: class orm: ... names nested classes like that
            self.names |= tails
            self.heads = None

    def may_name(self, node: ast.expr) -> bool:
        # As libcst does, a call is named by its callee and a subscript by its value.
        while isinstance(node, ast.Call | ast.Subscript):
            node = node.func if isinstance(node, ast.Call) else node.value
        if isinstance(node, ast.Name):
            return node.id in self.names
        if isinstance(node, ast.Attribute):
            return node.attr in self.tails and (self.heads is None or _head(node) in self.heads)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return any(name in node.value for name in self.names)  # an annotation
        return False


def _head(node: ast.expr) -> str | None:
    """The first name of libcst's full name for `node` (`a` for `a().b[0].c`)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def says_session(call: ast.Call) -> bool:
    """Could the code of the callee, as written, hold SESSION_WORD (_session_like)?"""
    func = call.func
    if func.lineno != func.end_lineno or (func.lineno, func.col_offset) != (
        call.lineno,
        call.col_offset,
    ):
        return True  # parenthesized or over lines: comments may be part of its code
    text = ast.unparse(func)
    return not text.isascii() or SESSION_WORD in text.lower()


# -- the prescreens ------------------------------------------------------------------------


def screen_session(view: SourceView) -> bool:
    """SessionCodemod's SCREEN: could AF401-AF403 change or report anything here?"""
    return _session_sites(view.tree, view.source, view.plans.get(SESSION_PASS), view.enabled)


def screen_sync_session(view: SourceView) -> bool:
    """SyncSessionInAsync's SCREEN: could AF404 report anything here?"""
    plan = view.plans.get(SYNC_PASS)
    return _sync_session_sites(view.tree, view.source, plan, view.enabled)


def _session_sites(tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
    hoist, scope, twin = ("AF402" in enabled, "AF401" in enabled, "AF403" in enabled)
    if plan:
        # It imports a session factory from the project.
        return (hoist or scope or twin) and screen_facts(tree).shapes
    # Every site names a session, a Session class or a sessionmaker somewhere.
    if SESSION_WORD.encode() not in source.lower():
        return False
    hoist = hoist and MAKER_TOKEN in source
    sites = twin and (_holds(source, SESSION_TAILS) or MAKER_TOKEN in source)
    scope = scope and YIELD_TOKEN in source
    handed = twin and ADD_TASK.encode() in source and _holds(source, DEPENDS_TAILS)
    if not (hoist or sites or scope or handed):
        return False
    facts = screen_facts(tree)
    if not facts.shapes:
        return False
    makers = Names(facts, MAKER_TAILS)
    # Names bound to a sessionmaker(...): factory() and _session_like() follow them.
    factories = {
        target.id
        for target, call in facts.made
        if isinstance(target, ast.Name) and makers.may_name(call.func)
    }
    sessions = Names(facts, SESSION_TAILS)

    def factory(func: ast.expr) -> bool:
        return sessions.may_name(func) or (isinstance(func, ast.Name) and func.id in factories)

    def session_like(call: ast.Call) -> bool:
        if isinstance(call.func, ast.Attribute) and call.func.attr == BEGIN:
            return False
        return factory(call.func) or says_session(call)

    for function, own in facts.functions.items():
        if hoist and any(makers.may_name(call.func) for call in own.calls):
            return True  # AF402: a factory built in a function
        if sites and any(
            isinstance(stmt, ast.Assign | ast.AnnAssign)
            and isinstance(stmt.value, ast.Call)
            and factory(stmt.value.func)
            for stmt in function.body
        ):
            return True  # AF403: `db = Factory()` opened by hand
        if scope and any(
            isinstance(target, ast.Name) and target.id in own.yielded and session_like(call)
            for target, call in own.made
        ):
            return True  # AF401: a dependency that yields the session it makes
    # AF403: a session parameter (Depends) handed to BackgroundTasks.add_task().
    depends = Names(facts, DEPENDS_TAILS)
    return (
        handed
        and any(
            isinstance(call.func, ast.Attribute)
            and call.func.attr == ADD_TASK
            and any(
                isinstance(arg.value if isinstance(arg, ast.Starred) else arg, ast.Name)
                for arg in [*call.args, *(k.value for k in call.keywords)]
            )
            for call in facts.calls
        )
        and any(depends.may_name(call.func) for call in facts.calls)
    )


def _sync_session_sites(
    tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]
) -> bool:
    """Only in an async path operation or dependency, and only with a sync Session,
    create_engine, sessionmaker or create_all named in the module (or one imported from
    the project)."""
    if "AF404" not in enabled:
        return False
    # Named in the plan: imported engines and factories, Depends() of a sync Session's maker.
    imported = (plan or {}).get("imported") or (plan or {}).get("providers")
    if not imported and not any(token in source for token in SYNC_TOKENS):
        return False
    # From the statements alone: most modules have no route, and the facts walk every
    # expression. A dependency is named in a Depends() here, or the plan found one.
    if not (
        (plan or {}).get("dependencies")
        or _holds(source, DEPENDENCY_CALLEES)
        or any(is_route(stmt) for stmt in walk_statements(tree.body))
    ):
        return False
    if imported or CREATE_ALL.encode() in source:
        return True
    names = Names(screen_facts(tree), SYNC_TAILS)
    return any(
        isinstance(node, ast.Name | ast.Attribute | ast.Constant) and names.may_name(node)
        for node in every_node(tree)
    )


def _holds(source: bytes, words: Collection[str]) -> bool:
    return any(word.encode() in source for word in words)
