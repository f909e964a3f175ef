"""AF302: a module-level aiohttp.ClientSession / httpx.AsyncClient -> created on app.state
in the lifespan and closed there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    FunctionScope,
    GlobalScope,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix.codemods.base import Rule
from asyncfix.codemods.lifespan._shared import (
    app_of,
    app_state,
    cast_module,
    client_kind,
    enclosing_function,
    resolves_globally,
    state_of,
    with_request,
)
from asyncfix.codemods.lifespan.client_accessors import (
    AccessorPass,
    call_of,
    from_imports,
    module_uses,
)
from asyncfix.codemods.lifespan.migrate import drop_statements, why_no_lifespan
from asyncfix.codemods.lifespan.screen import (
    CLIENT_KEYS,
    IMPORT_TIME_CLIENT,
    screen_import_time_client,
)
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource, with_blank_lines
from asyncfix.codemods.shared.lifespan_sites import IMPORT_TIME_CLIENTS

AF302 = Rule(
    code="AF302",
    name="import-time-client",
    summary="module-level aiohttp.ClientSession / httpx.AsyncClient -> app.state via lifespan",
    why=(
        "A client created at import time is bound to whatever event loop exists then (aiohttp "
        "refuses outright without one), is shared across test apps and workers, and is never "
        "closed: its connections leak and shutdown warns about unclosed sessions."
    ),
    fix=(
        "The client is created in the app's lifespan on app.state.<name> and closed after "
        "yield (close() / aclose()); every use in the module becomes app.state.<name>. "
        "Other modules that import it read request.app.state.<name> in their path "
        "operations (a `request: Request` parameter is added when they have none). A "
        "client of a module without the app (a clients module, a bot, a worker) gets an "
        "accessor instead: get_<name>() creates it on first use, inside the running loop, "
        "and close_<name>() closes it; every read across the project (from-imports, "
        "aliases, re-exports, module.<name>) calls get_<name>(), and the project's one "
        "FastAPI app awaits close_<name>() in its lifespan (without one, the finding says "
        "to await it at shutdown). Left for manual review: a use at import time (module or "
        "class level, a default value), another module using an app module's client "
        "outside a path operation of that app, a rebinding, a string naming it (a patch "
        "target, __all__), a client nothing reads, an app whose on_event handlers cannot "
        "move, or a class attribute."
    ),
    before=(
        "import httpx\n"
        "from fastapi import FastAPI\n"
        "\n"
        "client = httpx.AsyncClient(timeout=5)\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/rates")\n'
        "async def rates():\n"
        '    return (await client.get("https://rates.example")).json()\n'
    ),
    after=(
        "from contextlib import asynccontextmanager\n"
        "\n"
        "import httpx\n"
        "from fastapi import FastAPI\n"
        "\n"
        "\n"
        "@asynccontextmanager\n"
        "async def lifespan(app: FastAPI):\n"
        "    app.state.client = httpx.AsyncClient(timeout=5)\n"
        "    try:\n"
        "        yield\n"
        "    finally:\n"
        "        await app.state.client.aclose()\n"
        "\n"
        "\n"
        "app = FastAPI(lifespan=lifespan)\n"
        "\n"
        "\n"
        '@app.get("/rates")\n'
        "async def rates():\n"
        '    return (await app.state.client.get("https://rates.example")).json()\n'
    ),
)


@dataclass
class _Move:
    statement: cst.SimpleStatementLine
    name: str
    create: cst.BaseExpression
    close: str


class ImportTimeClient(AccessorPass):
    NAME = IMPORT_TIME_CLIENT
    RULES = (AF302,)
    AFTER = ("lifespan-on-event",)
    TRIGGERS = (b"Client",)
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider)
    SCREEN = staticmethod(screen_import_time_client)

    def screen(self, module: cst.Module) -> bool:
        # As screen_import_time_client, on the tree earlier codemods left.
        self._entry = self.entry()
        if self._entry is not None and any(self._entry.get(key) for key in CLIENT_KEYS):
            return True
        # Class attributes (reported only): module-level classes, looked at directly.
        return any(
            _client_name(stmt) is not None
            for cls in module.body
            if isinstance(cls, cst.ClassDef) and isinstance(cls.body, cst.IndentedBlock)
            for stmt in cls.body.body
        )

    def visit_Module(self, node: cst.Module) -> None:
        self.moves: list[_Move] = []
        self.start_accessors()  # of clients of a module without the app (plan_lazy)
        self.renames: dict[int, str] = {}  # id(Name) -> attribute
        self.removed: set[int] = set()
        self.app: str | None = None
        entry = self._entry or {}
        app, app_problem = app_of(entry) if entry else (None, "no FastAPI app in this module")
        self.app = app
        for stmt in node.body:
            found = self._candidate(stmt)
            if found is None:
                continue
            name, call, close = found
            lazy = entry.get("lazy", {}).get(name)
            if lazy is not None:
                self._plan_accessor(node, stmt, name, call, close, lazy)
                continue
            planned = entry.get("clients", {}).get(name)
            if app is None and planned:
                reason: str | None = f"{planned}; not rewritten"
            else:
                reason = app_problem or self._problem(name, entry, app)
            if reason is None:
                assert app is not None
                resource = add_lifespan_resource(node, app, name, call, close)
                if resource is None:
                    reason = why_no_lifespan(node, app)
                elif resource is node:
                    reason = f"{app}.state.{name} already exists"
            message = "client created at import time and never closed"
            if not self.report(call, "AF302", message, reason=reason):
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            self.moves.append(_Move(stmt, name, call, close))
            self.removed.add(id(stmt))
            for access in module_uses(self._global_scope(node), name):
                self.renames[id(access.node)] = name
        self._plan_uses(node, entry)
        self._plan_accessor_uses(node, entry)
        self.closers = [(str(c), str(app)) for _, c, _, app in entry.get("lazy_close", [])]
        for target, closer, level, _ in entry.get("lazy_close", []):
            AddImportsVisitor.add_needed_import(self.context, target, closer, relative=level)

    def _plan_uses(self, node: cst.Module, entry: Mapping[str, Any]) -> None:
        """A module that imports another module's moved client: its path operations read
        it from request.app.state (the plan checked every use is in one)."""
        self.via_request: dict[int, tuple[str, str]] = {}  # id(Name) -> (request, attribute)
        self.add_request: set[int] = set()  # id(FunctionDef) that gets `request: Request`
        self.drop_aliases: set[int] = set()  # id(ImportAlias) to remove
        scope = self._global_scope(node)
        for use in entry.get("client_uses", []):
            local, functions = use["local"], use["functions"]
            if local not in scope:
                continue
            for assignment, alias in from_imports(scope, local):
                message = (
                    f"client created at import time in {use['module']}: read it as "
                    f"request.app.state.{use['attribute']}"
                )
                if not self.report(alias, "AF302", message):
                    continue
                self.drop_aliases.add(id(alias))
                for access in assignment.references:
                    function = enclosing_function(access.scope)
                    assert function is not None and function.name.value in functions
                    request = functions[function.name.value]
                    if request is None:
                        self.add_request.add(id(function))
                        AddImportsVisitor.add_needed_import(self.context, "fastapi", "Request")
                    self.via_request[id(access.node)] = (request or "request", use["attribute"])

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        updated_node = self._resorted(original_node, updated_node)
        if not self.drop_aliases or isinstance(original_node.names, cst.ImportStar):
            return updated_node
        kept = [
            new
            for old, new in zip(original_node.names, updated_node.names, strict=True)  # type: ignore[arg-type]
            if id(old) not in self.drop_aliases
        ]
        if len(kept) == len(original_node.names):
            return updated_node
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=kept)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if id(original_node) not in self.add_request:
            return updated_node
        return updated_node.with_changes(params=with_request(updated_node.params))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not isinstance(node.body, cst.IndentedBlock):
            return
        for stmt in node.body.body:
            found = self._candidate(stmt)
            if found is not None:
                self.report(
                    found[1],
                    "AF302",
                    "client created at import time and never closed",
                    reason="a class attribute; move it into the app's lifespan by hand",
                )

    def _candidate(self, stmt: cst.CSTNode) -> tuple[str, cst.Call, str] | None:
        if not m.matches(stmt, _CLIENT_LINE):
            return None
        assert isinstance(stmt, cst.SimpleStatementLine)
        assign = cst.ensure_type(stmt.body[0], cst.Assign)
        close = client_kind(self, assign.value, IMPORT_TIME_CLIENTS)
        if close is None:
            return None
        target = cst.ensure_type(assign.targets[0].target, cst.Name)
        return target.value, cst.ensure_type(assign.value, cst.Call), close

    def _problem(self, name: str, entry: Mapping[str, Any], app: str | None) -> str | None:
        elsewhere = entry.get("clients", {}).get(name)
        if elsewhere:
            return str(elsewhere)
        if entry.get("harness"):
            return str(entry["harness"])
        scope = self._global_scope(cast_module(self._module))
        if len(scope[name]) != 1:
            return f"`{name}` is assigned more than once"
        for access in module_uses(scope, name):
            where = access.scope
            if not _in_function(where):
                line = self._line(access.node)
                return f"used at import time (line {line}), before any lifespan runs"
            if app is None or not resolves_globally(where, app):
                line = self._line(access.node)
                return f"`{app}` means something else where it is used (line {line})"
        called = _called_at_import(cast_module(self._module), _users_of(scope, name))
        if called is not None:
            return f"{called}() uses it and is called at import time, before any lifespan runs"
        return None

    def _line(self, node: cst.CSTNode) -> int:
        where = self._position(node)
        return where.start.line if where else 0

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        replaced = self.accessors.get(id(original_node))
        return updated_node if replaced is None else cst.FlattenSentinel(replaced)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        getter = self.accessor_reads.get(id(original_node))
        if getter is not None:
            return call_of(cst.Name(getter), updated_node)
        found = self.via_request.get(id(original_node))
        if found is not None:
            request, attribute = found
            app = cst.Attribute(value=cst.Name(request), attr=cst.Name("app"))
            return state_of(app, attribute).with_changes(
                lpar=updated_node.lpar, rpar=updated_node.rpar
            )
        moved = self.renames.get(id(original_node))
        if moved is None or self.app is None:
            return updated_node
        return app_state(self.app, moved).with_changes(
            lpar=updated_node.lpar, rpar=updated_node.rpar
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.accessors:
            # Two blank lines after each accessor's closer function, as after any def.
            closers = {id(new[-1]) for new in self.accessors.values()}
            body = list(updated_node.body)
            for i in range(1, len(body)):
                stmt = body[i]
                if id(body[i - 1]) in closers and isinstance(
                    stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement
                ):
                    body[i] = with_blank_lines(stmt)
            updated_node = updated_node.with_changes(body=body)
        for closer, app in self.closers:
            closing = cst.Await(cst.Call(cst.Name(closer)))
            added = add_lifespan_resource(
                updated_node, app, None, None, closing, context=self.context
            )
            if added is not None:  # (the plan made sure of it: else the finding says so)
                updated_node = added
        if self.removed:
            updated_node = updated_node.with_changes(
                body=drop_statements(original_node.body, updated_node.body, self.removed)
            )
        for move in self.moves:
            assert self.app is not None
            extended = add_lifespan_resource(
                updated_node, self.app, move.name, move.create, move.close, context=self.context
            )
            assert extended is not None  # checked on the module before the rewrite
            comments = [line for line in move.statement.leading_lines if line.comment]
            if comments:
                extended = extended.visit(_CommentsOnto(move.create, comments))
            updated_node = extended
        return updated_node


class _CommentsOnto(cst.CSTTransformer):
    """The comments above a moved `name = <create>` go with it, onto its new line."""

    def __init__(self, create: cst.BaseExpression, comments: Sequence[cst.EmptyLine]) -> None:
        super().__init__()
        self.create = create
        self.comments = comments

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        body = original_node.body
        if len(body) == 1 and isinstance(body[0], cst.Assign) and body[0].value is self.create:
            return updated_node.with_changes(
                leading_lines=[*updated_node.leading_lines, *self.comments]
            )
        return updated_node


def _client_name(stmt: cst.CSTNode) -> str | None:
    """`name = <...>.ClientSession(...)` / `AsyncClient(...)`, syntactically: the name."""
    if not m.matches(stmt, _CLIENT_LINE):
        return None
    assert isinstance(stmt, cst.SimpleStatementLine)
    assign = cst.ensure_type(stmt.body[0], cst.Assign)
    func = cst.ensure_type(assign.value, cst.Call).func
    last = (get_full_name_for_node(func) or "").rpartition(".")[2]
    if last not in IMPORT_TIME_CLIENTS.last_names:
        return None
    return cst.ensure_type(assign.targets[0].target, cst.Name).value


def _users_of(scope: Scope, name: str) -> set[str]:
    """Module-level functions that read `name`, and those that call them (by name)."""
    users: set[str] = set()
    for access in module_uses(scope, name):
        function = enclosing_function(access.scope)
        if function is not None:
            users.add(function.name.value)
    return users


class _ImportTimeCalls(cst.CSTVisitor):
    """Calls by plain name in code that runs at import: module and class bodies,
    decorators, default values; not function bodies or lambdas."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            decorator.visit(self)
        node.params.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        node.params.visit(self)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.names.append(node.func.value)


def _called_at_import(module: cst.Module, users: set[str]) -> str | None:
    """One of `users` (or a module-level function calling one) called at import time."""
    calls: dict[str, set[str]] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            found = {
                cst.ensure_type(c, cst.Call).func.value  # type: ignore[attr-defined]
                for c in m.findall(stmt.body, m.Call(func=m.Name()))
            }
            calls[stmt.name.value] = found
    tainted = set(users)
    changed = True
    while changed:
        changed = False
        for function, callees in calls.items():
            if function not in tainted and callees & tainted:
                tainted.add(function)
                changed = True
    visitor = _ImportTimeCalls()
    module.visit(visitor)
    return next((n for n in visitor.names if n in tainted), None)


_CLIENT_LINE = m.SimpleStatementLine(
    body=[m.Assign(targets=[m.AssignTarget(target=m.Name())], value=m.Call())]
)


def _in_function(scope: Scope) -> bool:
    while not isinstance(scope, GlobalScope):
        if isinstance(scope, FunctionScope):
            return True
        scope = scope.parent
    return False
