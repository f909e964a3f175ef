"""The stdlib-ast facts the family's prescreens share, gathered in one walk."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asyncfix.codemods.db_session._shared import (
    ASYNC_SESSIONMAKERS,
    ASYNC_SESSIONS,
    CREATE_ENGINE,
    DEPENDS,
    SESSIONMAKERS,
    SQLMODEL_CREATE_ENGINE,
    SYNC_SESSIONS,
)
from asyncfix.codemods.helpers import route_decorator
from asyncfix.index import children, fields_of

if TYPE_CHECKING:
    pass


# -- screens on the stdlib ast: could a pass change or report anything here? ---------------
#
# Conservative: False promises that the pass would neither change nor report anything, so
# each check accepts every shape the pass acts on, and a little more. Cheap tests on the
# bytes come first: most files are never walked.

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def tails_of(qualified: Iterable[str]) -> frozenset[str]:
    return frozenset(q.rpartition(".")[2] for q in qualified)


MAKER_TAILS = tails_of(SESSIONMAKERS | ASYNC_SESSIONMAKERS)
SESSION_TAILS = tails_of(SYNC_SESSIONS | ASYNC_SESSIONS)
SYNC_TAILS = tails_of(SYNC_SESSIONS | CREATE_ENGINE | SQLMODEL_CREATE_ENGINE | SESSIONMAKERS)
DEPENDS_TAILS = tails_of(DEPENDS)
# The packages those names come from: a module-level binding of one of these names (a
# class `sqlalchemy`...) gives local names the same qualified names.
_HEADS = frozenset(
    q.partition(".")[0]
    for q in SESSIONMAKERS | ASYNC_SESSIONMAKERS | SYNC_SESSIONS | ASYNC_SESSIONS | DEPENDS
)
# What the AF401-AF403 pass starts from: a `yield name`, a close()/add_task() call, a
# sessionmaker. A file without one is left alone, even with a session opened by hand.
_SCREEN_METHODS = frozenset({"close", "add_task"}) | MAKER_TAILS


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
    heads: bool = False  # a class named like one of _HEADS: then any name may resolve
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


def screen_facts(tree: ast.Module) -> _Facts:
    global _last_facts
    if _last_facts is not None and _last_facts[0] is tree:
        return _last_facts[1]
    facts = _Facts()
    # Each node with the function whose own body it is in: own_nodes() enters neither
    # nested functions (they have their own) nor classes and lambdas.
    stack: list[tuple[ast.AST, _Own | None]] = [(tree, None)]
    while stack:
        node, own = stack.pop()
        if isinstance(node, FunctionNode):
            inner = facts.functions[node] = _Own()
            for name in fields_of(type(node)):
                value = getattr(node, name, None)
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, ast.AST):
                        stack.append((child, inner if name == "body" else None))
            continue
        if isinstance(node, ast.Call):
            facts.calls.append(node)
            if own is not None:
                own.calls.append(node)
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in _SCREEN_METHODS) or (
                isinstance(func, ast.Name) and func.id in MAKER_TAILS
            ):
                facts.shapes = True
        elif isinstance(node, ast.Yield):
            if isinstance(node.value, ast.Name):
                facts.shapes = True
                if own is not None:
                    own.yielded.add(node.value.id)
        elif isinstance(node, ast.alias):
            facts.aliases.append(node)
            facts.imported.add(node.asname or node.name.partition(".")[0])
            facts.shapes = facts.shapes or node.name in MAKER_TAILS
        elif isinstance(node, ast.ClassDef):
            facts.heads = facts.heads or node.name in _HEADS
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            if isinstance(node.value, ast.Call):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                made = [(target, node.value) for target in targets]
                facts.made += made
                if own is not None:
                    own.made += made
        elif isinstance(node, ast.With | ast.AsyncWith) and own is not None:
            own.made += [
                (item.optional_vars, item.context_expr)
                for item in node.items
                if item.optional_vars is not None and isinstance(item.context_expr, ast.Call)
            ]
        if isinstance(node, ast.ClassDef | ast.Lambda):
            own = None
        stack += [(child, own) for child in children(node)]
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
        self.heads: set[str] | None = facts.imported | _HEADS
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
    """Could the code of the callee, as written, hold "session" (_session_like)?"""
    func = call.func
    if func.lineno != func.end_lineno or (func.lineno, func.col_offset) != (
        call.lineno,
        call.col_offset,
    ):
        return True  # parenthesized or over lines: comments may be part of its code
    text = ast.unparse(func)
    return not text.isascii() or "session" in text.lower()
