"""The family's prescreens (the codemods' `SCREEN`s): the shapes a file as read holds, on
the stdlib ast, before libcst. Imports no libcst (see `codemods/view.py`): the names are
those of the family's description, `shared/lifespan_sites`."""

from __future__ import annotations

import ast
import hashlib
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from asyncfix.codemods.shared.lifespan_sites import (
    APPS,
    CLIENTS,
    ENGINES,
    EVENTS,
    IMPORT_TIME_CLIENTS,
    POOLS,
    ROUTES,
)
from asyncfix.codemods.speed.screens import every_node
from asyncfix.codemods.view import SourceView
from asyncfix.files import SourceError, decode
from asyncfix.index import dotted_name


def digest(data: bytes) -> str:
    """What a plan's entry says of the bytes it was made for."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# Entry keys that hold work for a file (the others describe it).
_WORK_KEYS = (
    "apps",
    "strip",
    "refuse",
    "clients",
    "client_uses",
    "engines",
    "engine_refuse",
    "per_call",
    "shared",
    "lazy",
    "lazy_uses",
    "lazy_close",
)


def has_work(planned: Mapping[str, Any]) -> bool:
    return any(planned.get(key) for key in _WORK_KEYS)


def view_entry(name: str, view: SourceView) -> tuple[bool, Mapping[str, Any]]:
    """(planned, the entry the transformer will use, {} for none) of the codemod `name`:
    as LifespanCodemod.entry() decides, for a file with a plan. A file without one is
    planned on its own: `planned` is False and the prescreen judges its shapes instead
    (planning it here would cost a libcst parse)."""
    return plan_entry(view.plans.get(name), view.source)


def plan_entry(planned: Mapping[str, Any] | None, source: bytes) -> tuple[bool, Mapping[str, Any]]:
    """`view_entry`, from the codemod's plan for the file (None: none) and its bytes."""
    if planned is None:
        return False, {}
    if not has_work(planned) or planned.get("digest") != digest(source):
        return True, {}
    return True, planned


def is_test_file(path: str) -> bool:
    """A test module's client does not starve production traffic (AF303)."""
    parts = Path(path).parts
    name = parts[-1] if parts else ""
    return (
        name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
        or any(p in ("tests", "test") for p in parts[:-1])
    )


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
    clients: bool  # `name = <an IMPORT_TIME_CLIENTS>(...)`, resolved as the index does
    engines: bool  # `name = create_async_engine(...)` outside functions and classes, likewise
    apps: bool  # module-level `name = FastAPI(...)`, likewise
    class_clients: bool  # a client attribute of a module-level class (see ImportTimeClient)
    routes: bool  # a module-level function with a @x.get(...)-like decorator
    with_clients: bool  # a with item calling one of CLIENTS
    pool_calls: bool  # a call of one of POOLS
    imports_http: bool  # a package of POOLS imported at module level (or a top-level if/try)


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
    for node in every_node(tree):
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
                EVENTS.ast_decorator(d) is not None for d in node.decorator_list
            )
        elif isinstance(node, ast.Call):
            registrations = registrations or (
                isinstance(node.func, ast.Attribute) and node.func.attr == EVENTS.method
            )
            pool_calls = pool_calls or POOLS.spelt_by(node.func)
        elif isinstance(node, ast.keyword):
            registrations = registrations or node.arg in EVENTS.keywords
        elif isinstance(node, ast.withitem):
            with_clients = with_clients or (
                isinstance(node.context_expr, ast.Call) and CLIENTS.spelt_by(node.context_expr.func)
            )
    for func in calls:
        assigned |= callee(func)
    # The index knows an engine only from a module-level assignment (ModuleInfo.assignments).
    engines = any(
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Call)
        and any(isinstance(t, ast.Name) for t in stmt.targets)
        and not ENGINES.last_names.isdisjoint(callee(stmt.value.func))
        for stmt in _module_statements(tree.body)
    )
    apps = any(
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Call)
        and not APPS.last_names.isdisjoint(callee(stmt.value.func))
        for stmt in tree.body
    )
    class_clients = any(
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Call)
        and IMPORT_TIME_CLIENTS.spelt_by(stmt.value.func)
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for stmt in cls.body
    )
    routes = any(
        ROUTES.ast_owner(stmt) is not None
        for stmt in tree.body
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
    )
    return _Shapes(
        registrations=registrations,
        clients=not assigned.isdisjoint(IMPORT_TIME_CLIENTS.last_names),
        engines=engines,
        apps=apps,
        class_clients=class_clients,
        routes=routes,
        with_clients=with_clients,
        pool_calls=pool_calls,
        imports_http=POOLS.ast_imported_by(tree),
    )


# Every prescreen's True needs one of these names (an alias needs it in its import).
_SHAPE_NAMES = (*sorted(POOLS.last_names | ENGINES.last_names), *EVENTS.names)
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


# -- the codemods' SCREENs: as each one's screen() decides, on the file as read ----------------
# Their names are here, where the classes read them: a codemod's module imports libcst.
ON_EVENT = "lifespan-on-event"
IMPORT_TIME_CLIENT = "lifespan-import-time-client"
PER_CALL_CLIENT = "lifespan-client-per-call"
DISPOSE_ENGINE = "lifespan-dispose-engine"
POOL_LIMITS = "lifespan-pool-limits"


# Each screen below decides from the codemod's entry (`view_entry`) and the file's shapes,
# asked only when needed: `Shapes` gives them (`shapes_of`, or those the worker that
# indexed the module made: see codemods/speed/notes.py).
Shapes = Callable[[], _Shapes]


def screen_on_event(view: SourceView) -> bool:
    return on_event_says(*view_entry(ON_EVENT, view), lambda: shapes_of(view))


def on_event_says(planned: bool, entry: Mapping[str, Any], shapes: Shapes) -> bool:
    if planned:
        return bool(entry.get("strip") or entry.get("refuse"))
    return shapes().registrations  # the only source of strip/refuse


# The entry keys that hold work for ImportTimeClient.
CLIENT_KEYS = ("clients", "client_uses", "lazy", "lazy_uses", "lazy_close")


def screen_import_time_client(view: SourceView) -> bool:
    return import_time_client_says(*view_entry(IMPORT_TIME_CLIENT, view), lambda: shapes_of(view))


def import_time_client_says(planned: bool, entry: Mapping[str, Any], shapes: Shapes) -> bool:
    # A planned client or use, else a client attribute of a class.
    if any(entry.get(key) for key in CLIENT_KEYS) or (not planned and shapes().clients):
        return True
    return shapes().class_clients


def screen_per_call_client(view: SourceView) -> bool:
    return per_call_client_says(*view_entry(PER_CALL_CLIENT, view), lambda: shapes_of(view))


def per_call_client_says(planned: bool, entry: Mapping[str, Any], shapes: Shapes) -> bool:
    # A file planned on its own never gets `shared` (no router elsewhere).
    if entry.get("shared") or entry.get("per_call"):
        return True
    apps = bool(entry.get("apps")) if planned else shapes().apps
    return (apps or shapes().routes) and shapes().with_clients


def screen_dispose_engine(view: SourceView) -> bool:
    return dispose_engine_says(*view_entry(DISPOSE_ENGINE, view), lambda: shapes_of(view))


def dispose_engine_says(planned: bool, entry: Mapping[str, Any], shapes: Shapes) -> bool:
    if planned:
        return bool(entry.get("engines") or entry.get("engine_refuse"))
    return shapes().engines


def screen_pool_limits(view: SourceView) -> bool:
    # The imports earlier codemods ask for are the driver's concern.
    if is_test_file(view.path):
        return False
    shapes = shapes_of(view)
    return shapes.imports_http and shapes.pool_calls
