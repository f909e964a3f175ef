"""Prescreens: the shapes a file as read holds (stdlib ast, before libcst)."""

from __future__ import annotations

import ast
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

from asyncfix.codemods.helpers import route_decorator
from asyncfix.codemods.lifespan._shared import ROUTE_AND_WEBSOCKET
from asyncfix.codemods.view import SourceView
from asyncfix.files import SourceError, decode
from asyncfix.index import dotted_name, walk

_CLIENT_CLASSES = frozenset({"ClientSession", "AsyncClient"})
_POOL_CALLS = _CLIENT_CLASSES | {"TCPConnector", "Limits"}
_EVENT_KEYWORDS = frozenset({"on_startup", "on_shutdown"})


def _last_name(node: ast.expr) -> str | None:
    """The last dotted part of a callee, as libcst's get_full_name_for_node spells it."""
    while isinstance(node, ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _import_blocks(body: Sequence[ast.stmt]) -> Iterable[ast.stmt]:
    """Module-level statements, and those of top-level if/try blocks (as imports_any)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _import_blocks([*stmt.body, *stmt.orelse])
        elif isinstance(stmt, ast.Try | ast.TryStar):
            handlers = [s for h in stmt.handlers for s in h.body]
            yield from _import_blocks([*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody])


def _module_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements outside functions and classes: the module's and its blocks'."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                yield from _module_statements([child])
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                yield from _module_statements(child.body)


@dataclass(frozen=True)
class _Shapes:
    """What the family's codemods act on, each a superset of what they look for: one walk
    serves the five prescreens of a file."""

    registrations: bool  # @x.on_event(...), x.add_event_handler(...), on_startup=/on_shutdown=
    clients: bool  # `name = <ClientSession/AsyncClient>(...)`, resolved as the index does
    engines: bool  # `name = create_async_engine(...)` outside functions and classes, likewise
    apps: bool  # module-level `name = FastAPI(...)`, likewise
    class_clients: bool  # a client attribute of a module-level class (see ImportTimeClient)
    routes: bool  # a module-level function with a @x.get(...)-like decorator
    with_clients: bool  # a with item calling ClientSession/AsyncClient
    pool_calls: bool  # a call of ClientSession/AsyncClient/TCPConnector/Limits
    imports_http: bool  # aiohttp or httpx imported at module level (or a top-level if/try)


def _scan_shapes(tree: ast.Module) -> _Shapes:
    # An `import x.Y as Z` makes Z resolve to something ending in Y (ModuleInfo.resolve).
    aliases: dict[str, set[str]] = {}
    assigned: set[str] = set()  # last parts of callees of `name = <call>(...)`, resolved
    registrations = with_clients = pool_calls = False

    def callee(func: ast.expr) -> set[str]:
        dotted = dotted_name(func)
        if dotted is None:
            return set()
        _, dot, rest = dotted.rpartition(".")
        return {rest} if dot else {rest, *aliases.get(rest, ())}

    calls: list[ast.expr] = []
    for node in walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.asname:
                    aliases.setdefault(alias.asname, set()).add(alias.name.rpartition(".")[2])
        elif isinstance(node, ast.Assign):
            if isinstance(node.value, ast.Call) and any(
                isinstance(t, ast.Name) for t in node.targets
            ):
                calls.append(node.value.func)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            registrations = registrations or any(
                isinstance(d, ast.Call)
                and isinstance(d.func, ast.Attribute)
                and d.func.attr == "on_event"
                for d in node.decorator_list
            )
        elif isinstance(node, ast.Call):
            registrations = registrations or (
                isinstance(node.func, ast.Attribute) and node.func.attr == "add_event_handler"
            )
            pool_calls = pool_calls or _last_name(node.func) in _POOL_CALLS
        elif isinstance(node, ast.keyword):
            registrations = registrations or node.arg in _EVENT_KEYWORDS
        elif isinstance(node, ast.withitem):
            with_clients = with_clients or (
                isinstance(node.context_expr, ast.Call)
                and _last_name(node.context_expr.func) in _CLIENT_CLASSES
            )
    for func in calls:
        assigned |= callee(func)
    # The index knows an engine only from a module-level assignment (ModuleInfo.assignments).
    engines = any(
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Call)
        and any(isinstance(t, ast.Name) for t in stmt.targets)
        and "create_async_engine" in callee(stmt.value.func)
        for stmt in _module_statements(tree.body)
    )
    apps = any(
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Call)
        and "FastAPI" in callee(stmt.value.func)
        for stmt in tree.body
    )
    class_clients = any(
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Call)
        and _last_name(stmt.value.func) in _CLIENT_CLASSES
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for stmt in cls.body
    )
    routes = any(
        route_decorator(d, ROUTE_AND_WEBSOCKET)
        for stmt in tree.body
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
        for d in stmt.decorator_list
    )
    imports_http = False
    for stmt in _import_blocks(tree.body):
        names: list[str] = []
        if isinstance(stmt, ast.Import):
            names = [a.name for a in stmt.names]
        elif isinstance(stmt, ast.ImportFrom) and stmt.module is not None:
            names = [stmt.module]
        if any(n.split(".")[0] in ("aiohttp", "httpx") for n in names):
            imports_http = True
            break
    return _Shapes(
        registrations=registrations,
        clients=bool(assigned & _CLIENT_CLASSES),
        engines=engines,
        apps=apps,
        class_clients=class_clients,
        routes=routes,
        with_clients=with_clients,
        pool_calls=pool_calls,
        imports_http=imports_http,
    )


# Every prescreen's True needs one of these names (an alias needs it in its import).
_SHAPE_NAMES = (
    *_POOL_CALLS,
    "create_async_engine",
    "on_event",
    "add_event_handler",
    *_EVENT_KEYWORDS,
)
_SHAPE_TOKENS = tuple(name.encode() for name in _SHAPE_NAMES)
_NO_SHAPES = _Shapes(*([False] * len(fields(_Shapes))))
# The last file's shapes: the family's five prescreens ask one after the other.
_LAST_SHAPES: list[tuple[ast.Module, _Shapes]] = []


def _names_absent(source: bytes) -> bool:
    """None of _SHAPE_NAMES can be in the source (cheaper than walking its tree)."""
    if source.isascii():
        return not any(token in source for token in _SHAPE_TOKENS)
    try:
        text, _ = decode(source)
    except SourceError:
        return False
    # Python folds identifiers (NFKC): a fullwidth `on_event` is on_event.
    text = unicodedata.normalize("NFKC", text)
    return not any(name in text for name in _SHAPE_NAMES)


def shapes_of(view: SourceView) -> _Shapes:
    if _names_absent(view.source):
        return _NO_SHAPES
    if not _LAST_SHAPES or _LAST_SHAPES[0][0] is not view.tree:
        _LAST_SHAPES[:] = [(view.tree, _scan_shapes(view.tree))]
    return _LAST_SHAPES[0][1]
