"""What the lifespan rules match, described once (issue 21): the calls they act on (apps,
routers, clients, engines, pools), the event registrations and the path operations.

The stdlib-ast side (the prescreens, the project plan) and the libcst side (the screens
and transforms) read the same description, so a rule's matching changes in one place.
The libcst side imports libcst only when it is asked: this module, and the prescreens
built on it, load no libcst (see `codemods/view.py`)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from asyncfix.codemods.shared.routes import ROUTE_METHODS, route_decorator

if TYPE_CHECKING:
    import libcst as cst

T = TypeVar("T")


def last_name(node: ast.expr) -> str | None:
    """The last dotted part of a callee, as libcst's get_full_name_for_node spells it."""
    while isinstance(node, ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _import_blocks(body: Sequence[ast.stmt]) -> Iterable[ast.stmt]:
    """Module-level statements, and those of top-level if/try blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _import_blocks([*stmt.body, *stmt.orelse])
        elif isinstance(stmt, ast.Try | ast.TryStar):
            handlers = [s for h in stmt.handlers for s in h.body]
            yield from _import_blocks([*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody])


@dataclass(frozen=True)
class Callees(Mapping[str, T]):
    """The calls a rule acts on: qualified name -> what the rule needs to know of it (the
    client's close method, the pool's keyword)."""

    table: Mapping[str, T]

    def __contains__(self, qualname: object) -> bool:
        return qualname in self.table

    def __getitem__(self, qualname: str) -> T:
        return self.table[qualname]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    @cached_property
    def last_names(self) -> frozenset[str]:
        """How a site's callee ends when written (`ClientSession`: aiohttp.ClientSession)."""
        return frozenset(q.rpartition(".")[2] for q in self.table)

    @cached_property
    def packages(self) -> frozenset[str]:
        """The top-level packages the calls come from (`aiohttp`)."""
        return frozenset(q.partition(".")[0] for q in self.table)

    # -- on the stdlib ast (conservative: by how the callee is spelt) ------------------------

    def spelt_by(self, func: ast.expr) -> bool:
        """Does the callee `func` end as one of the sites' (`x.ClientSession`, `f()()`)?"""
        return last_name(func) in self.last_names

    def ast_imported_by(self, tree: ast.Module) -> bool:
        """Does the module import one of the sites' packages at module level (or in a
        top-level if/try, at any depth)?"""
        for stmt in _import_blocks(tree.body):
            names: list[str] = []
            if isinstance(stmt, ast.Import):
                names = [a.name for a in stmt.names]
            elif isinstance(stmt, ast.ImportFrom) and stmt.module is not None:
                names = [stmt.module]
            if any(n.split(".")[0] in self.packages for n in names):
                return True
        return False

    # -- on the libcst tree ------------------------------------------------------------------

    def cst_imported_by(self, module: cst.Module) -> bool:
        """Does the module import one of the sites' packages at module level (or directly
        in a top-level if/try)? A cheap screen, before any metadata."""
        import libcst as cst
        from libcst.helpers import get_full_name_for_node

        from asyncfix.codemods.shared.lifespan_builder import blocks

        for stmt in module.body:
            lines: list[cst.BaseStatement] = (
                [stmt] if isinstance(stmt, cst.SimpleStatementLine) else []
            )
            if isinstance(stmt, cst.If | cst.Try):
                lines = [s for block in blocks(stmt) for s in block]
            for line in lines:
                if not isinstance(line, cst.SimpleStatementLine):
                    continue
                for small in line.body:
                    names: list[str] = []
                    if isinstance(small, cst.Import):
                        names = [a.evaluated_name for a in small.names]
                    elif isinstance(small, cst.ImportFrom) and small.module is not None:
                        names = [get_full_name_for_node(small.module) or ""]
                    if any(n.split(".")[0] in self.packages for n in names):
                        return True
        return False

    def cst_spelt_by(self, func: cst.BaseExpression) -> bool:
        """Is the callee `func` a name or an attribute spelt as one of the sites' ends?"""
        import libcst as cst

        if isinstance(func, cst.Attribute):
            return func.attr.value in self.last_names
        return isinstance(func, cst.Name) and func.value in self.last_names


# The apps and routers of FastAPI (by what their constructor returns).
APPS: Callees[str] = Callees({"fastapi.FastAPI": "app", "fastapi.applications.FastAPI": "app"})
ROUTERS: Callees[str] = Callees(
    {"fastapi.APIRouter": "router", "fastapi.routing.APIRouter": "router"}
)
# Async HTTP clients, with their close method: AF304's per-call clients, AF302's clients
# used across modules.
CLIENTS: Callees[str] = Callees(
    {
        "aiohttp.ClientSession": "close",
        "aiohttp.client.ClientSession": "close",
        "httpx.AsyncClient": "aclose",
    }
)
# A client created at import time is moved as written, so httpx2 (httpx's API) is one too.
IMPORT_TIME_CLIENTS: Callees[str] = Callees({**CLIENTS.table, "httpx2.AsyncClient": "aclose"})
# Async SQLAlchemy engines (AF305), with the method that disposes of one.
ENGINES: Callees[str] = Callees(
    {
        "sqlalchemy.ext.asyncio.create_async_engine": "dispose",
        "sqlalchemy.ext.asyncio.engine.create_async_engine": "dispose",
    }
)
# AF303: a client -> (the keyword that takes its pool, the pool factory's qualified name) ...
POOL_OWNERS: Callees[tuple[str, str]] = Callees(
    {
        "aiohttp.ClientSession": ("connector", "aiohttp.TCPConnector"),
        "aiohttp.client.ClientSession": ("connector", "aiohttp.TCPConnector"),
        "httpx.AsyncClient": ("limits", "httpx.Limits"),
    }
)
# ... and a pool factory -> the package whose limits it takes.
POOL_FACTORIES: Callees[str] = Callees(
    {
        "aiohttp.TCPConnector": "aiohttp",
        "aiohttp.connector.TCPConnector": "aiohttp",
        "httpx.Limits": "httpx",
    }
)
# Every call AF303 looks at.
POOLS: Callees[object] = Callees({**POOL_OWNERS.table, **POOL_FACTORIES.table})


@dataclass(frozen=True)
class BlockSites:
    """`async with <client>(...) as name:`: a client opened for one block (AF304), whose
    callee, resolved, is one of `clients`."""

    clients: Callees[str]

    def ast_shape(self, node: ast.AsyncWith) -> tuple[ast.Call, str] | None:
        """(the call, the name) of a block of that shape, its callee not yet resolved."""
        if len(node.items) != 1 or not isinstance(node.items[0].context_expr, ast.Call):
            return None
        target = node.items[0].optional_vars
        if not isinstance(target, ast.Name):
            return None
        return node.items[0].context_expr, target.id

    def cst_shape(self, node: cst.With) -> tuple[cst.Call, str] | None:
        """As ast_shape, on libcst's With (which is also the synchronous `with`)."""
        import libcst as cst

        if not isinstance(node.asynchronous, cst.Asynchronous) or len(node.items) != 1:
            return None
        item = node.items[0]
        if not isinstance(item.item, cst.Call) or item.asname is None:
            return None
        name = item.asname.name
        return (item.item, name.value) if isinstance(name, cst.Name) else None


PER_CALL = BlockSites(CLIENTS)


@dataclass(frozen=True)
class EventSites:
    """How a FastAPI app or router registers a startup or shutdown handler (AF301):
    `@x.on_event(event)`, `x.add_event_handler(event, func)`, `FastAPI(on_startup=[...])`;
    and how an app includes a router's (`x.include_router(router)`). An argument is
    (its position, its keyword)."""

    decorator: str
    method: str
    keywords: Mapping[str, str]  # keyword -> the event
    event: tuple[int, str]
    handler: tuple[int, str]
    include: str
    router: tuple[int, str]

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every name a registration is spelt with."""
        return (self.decorator, self.method, *self.keywords)

    # -- on the stdlib ast ------------------------------------------------------------------

    def ast_decorator(self, decorator: ast.expr) -> ast.Call | None:
        """The call of a decorator `@<owner>.on_event(...)`."""
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == self.decorator
        ):
            return decorator
        return None

    @staticmethod
    def ast_arg(call: ast.Call, where: tuple[int, str]) -> ast.expr | None:
        position, keyword = where
        if len(call.args) > position:
            return call.args[position]
        for kw in call.keywords:
            if kw.arg == keyword:
                return kw.value
        return None

    # -- on the libcst tree ----------------------------------------------------------------

    def cst_decorator(self, decorator: cst.BaseExpression) -> bool:
        import libcst.matchers as m

        return m.matches(decorator, m.Call(func=m.Attribute(attr=m.Name(self.decorator))))

    def cst_method(self, func: cst.BaseExpression) -> bool:
        import libcst.matchers as m

        return m.matches(func, m.Attribute(attr=m.Name(self.method)))

    @staticmethod
    def cst_arg(call: cst.Call, where: tuple[int, str]) -> cst.BaseExpression | None:
        position, keyword = where
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if len(positional) > position:
            return positional[position].value
        found = next((a for a in call.args if a.keyword and a.keyword.value == keyword), None)
        return found.value if found is not None else None

    def cst_any_in(self, module: cst.Module) -> bool:
        """Any registration left in `module`: `lifespan=` would silence it."""
        import libcst.matchers as m

        def registers(value: str) -> bool:
            return value in (self.decorator, self.method)

        def keyword_of(value: str) -> bool:
            return value in self.keywords

        name = m.MatchIfTrue(registers)
        keyword = m.MatchIfTrue(keyword_of)
        return bool(
            m.findall(
                module,
                m.Call(func=m.Attribute(attr=m.Name(name))) | m.Arg(keyword=m.Name(keyword)),
            )
        )


EVENTS = EventSites(
    decorator="on_event",
    method="add_event_handler",
    keywords={"on_startup": "startup", "on_shutdown": "shutdown"},
    event=(0, "event_type"),
    handler=(1, "func"),
    include="include_router",
    router=(0, "router"),
)


@dataclass(frozen=True)
class RouteSites:
    """The path operations (and websocket endpoints) of an app or a router: functions
    decorated `@<owner>.get(...)`, whose clients a lifespan may share."""

    methods: frozenset[str]

    def ast_owner(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
        """The `<owner>` of its first route decorator, None when it has none."""
        for decorator in function.decorator_list:
            method = route_decorator(decorator, self.methods)
            if method is not None:
                return method.value
        return None

    def cst_is_route(self, function: cst.FunctionDef) -> bool:
        import libcst as cst

        return any(
            isinstance(d.decorator, cst.Call)
            and isinstance(d.decorator.func, cst.Attribute)
            and d.decorator.func.attr.value in self.methods
            for d in function.decorators
        )


ROUTES = RouteSites(ROUTE_METHODS | {"websocket"})  # a websocket uses the app's clients too
