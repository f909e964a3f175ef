"""AF304: `async with aiohttp.ClientSession()` per call -> the app's shared session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import FunctionScope, GlobalScope, QualifiedNameProvider, Scope, ScopeProvider

from asyncfix.codemods.base import Rule
from asyncfix.codemods.helpers import remove_import_if_unused
from asyncfix.codemods.lifespan._shared import (
    CLOSING,
    OPTIONS_PROBLEM,
    SHARED,
    app_of,
    app_state,
    block_problem,
    called_in,
    cast_module,
    client_kind,
    enclosing_function,
    explode,
    head_name,
    resolves_globally,
    shared_cap_problem,
    state_of,
    with_request,
)
from asyncfix.codemods.lifespan.family import LifespanCodemod
from asyncfix.codemods.lifespan.migrate import why_no_lifespan
from asyncfix.codemods.lifespan.screen import PER_CALL_CLIENT, screen_per_call_client
from asyncfix.codemods.shared.lifespan_builder import (
    add_keyword,
    add_lifespan_resource,
    assign_statement,
)
from asyncfix.codemods.shared.lifespan_sites import CLIENTS, PER_CALL, POOL_OWNERS, ROUTES
from asyncfix.codemods.shared.pool_options import pool_limits
from asyncfix.config import Config

AF304 = Rule(
    code="AF304",
    name="client-per-call",
    summary="async with aiohttp.ClientSession() per call -> the app's shared session",
    why=(
        "A new session per request opens a new connection pool per request: no keep-alive, "
        "a fresh TCP and TLS handshake and DNS lookup every time, and under load thousands "
        "of sockets in TIME_WAIT."
    ),
    fix=(
        "Each call's session has a pool of its own, so nothing caps them together; one "
        "shared session would cap them all at the library's default (100 connections). So "
        "the rewrite needs the total cap from [tool.asyncfix.lifespan] (aiohttp-limit, "
        "httpx-max-connections; without it, a finding that says so). Then the session is "
        "created once in the app's lifespan with the configured limits "
        "(app.state.aiohttp_session, or app.state.http_client for httpx, the one the "
        "http_client family shares) and closed after yield; the block uses it. In a "
        "router's module, the path operation reads request.app.state.<...> (a `request: "
        "Request` parameter is added when it has none) and the one app serving that router "
        "creates it. Outside the app's module, in a function that runs per request or per "
        "message (a path operation, a Depends dependency, a bot's handler, or what they "
        "call), the block uses the project's one get_<name>() accessor of that client "
        "(see AF302) when that client is created without options. Only sessions created "
        "without options are replaced. Left for manual review: options on the session, a "
        "session closed by hand or used after the block, a path operation no single app "
        "serves, no single shared client to use."
    ),
    before=(
        "import aiohttp\n"
        "from fastapi import FastAPI\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/weather")\n'
        "async def weather(city: str):\n"
        "    async with aiohttp.ClientSession() as session:\n"
        '        async with session.get(f"https://wx.example/{city}") as response:\n'
        "            return await response.json()\n"
    ),
    after=(
        "import aiohttp\n"
        "from fastapi import FastAPI\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/weather")\n'
        "async def weather(city: str):\n"
        "    async with aiohttp.ClientSession() as session:\n"
        '        async with session.get(f"https://wx.example/{city}") as response:\n'
        "            return await response.json()\n"
    ),
)


class PerCallClient(LifespanCodemod):
    NAME = PER_CALL_CLIENT
    RULES = (AF304,)
    AFTER = ("lifespan-import-time-client",)
    TRIGGERS = (b"async with", b"Client")
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider)
    SCREEN = staticmethod(screen_per_call_client)

    def screen(self, module: cst.Module) -> bool:
        # As screen_per_call_client, on the tree earlier codemods left: only a module with
        # the app, or with path operations (reported), is of interest.
        entry = self.entry() or {}
        if entry.get("shared") or entry.get("per_call"):
            return True  # the app takes the shared session / the plan has sites here
        if not entry.get("apps") and not any(
            isinstance(stmt, cst.FunctionDef) and ROUTES.cst_is_route(stmt) for stmt in module.body
        ):
            return False
        return called_in(module, CLIENTS, with_items_only=True)

    def visit_Module(self, node: cst.Module) -> None:
        entry = self.entry() or {}
        self.app, self.app_problem = app_of(entry) if entry else (None, "no FastAPI app here")
        if self.app is None:
            self.app_problem = (
                "a path operation of a module without the FastAPI app; pass the app's shared "
                "session in (request.app.state) by hand"
            )
        # id(With) -> (name, what it reads instead)
        self.rewrites: dict[int, tuple[str, cst.BaseExpression]] = {}
        self.resources: dict[str, tuple[cst.BaseExpression, str]] = {}
        self.remote: Mapping[str, Any] = entry.get("per_call", {})
        self.shared: Mapping[str, Any] = entry.get("shared", {})
        self.counts: dict[str, int] = {}
        self.add_request: set[int] = set()

    def visit_With(self, node: cst.With) -> None:
        shape = PER_CALL.cst_shape(node)
        if shape is None:
            return
        call, name = shape
        close = client_kind(self, call, PER_CALL.clients)
        if close is None:
            return
        scope = self.get_metadata(ScopeProvider, node)
        function = enclosing_function(scope)
        if self.app is None and function is not None:
            # A router's module: the plan decided, site by site (function:occurrence).
            count = self.counts[function.name.value] = self.counts.get(function.name.value, -1) + 1
            planned = self.remote.get(f"{function.name.value}:{count}")
            if isinstance(planned, list):
                self._remote(node, call, name, function, planned)
                return
            if isinstance(planned, dict):
                self._accessor(node, call, name, planned)
                return
            if isinstance(planned, str):
                self.report(call, "AF304", _PER_CALL_MESSAGE, reason=planned)
                return
        if self.app is None and not _is_path_operation(scope):
            return  # not FastAPI code: a script or a library may well want its own session
        attribute = SHARED[close]
        create = cst.Call(func=call.func)
        reason = self.app_problem or self._problem(node, call, name)
        if reason is None:
            package = "aiohttp" if close == "close" else "httpx"
            reason = shared_cap_problem(self.run.config, package)
        if reason is None:
            assert self.app is not None
            known = self.resources.get(attribute)
            if known is None:
                module = cast_module(self._module)
                added = add_lifespan_resource(module, self.app, attribute, create, close)
                if added is None:
                    reason = why_no_lifespan(module, self.app)
                    if reason.startswith("the names"):
                        reason = f"{self.app}.state.{attribute} already holds another client"
        if self.report(call, "AF304", _PER_CALL_MESSAGE, reason=reason):
            assert self.app is not None
            self.rewrites[id(node)] = (name, app_state(self.app, attribute))
            self.resources[attribute] = (create, close)
            if scope is not None:
                remove_import_if_unused(self.context, scope, call.func)

    def _remote(
        self,
        node: cst.With,
        call: cst.Call,
        name: str,
        function: cst.FunctionDef,
        planned: list[Any],
    ) -> None:
        attribute, request = planned
        if not self.report(call, "AF304", _PER_CALL_MESSAGE):
            return
        if request is None:
            self.add_request.add(id(function))
            AddImportsVisitor.add_needed_import(self.context, "fastapi", "Request")
        app = cst.Attribute(value=cst.Name(request or "request"), attr=cst.Name("app"))
        self.rewrites[id(node)] = (name, state_of(app, attribute))
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is not None:
            remove_import_if_unused(self.context, scope, call.func)

    def _accessor(
        self, node: cst.With, call: cst.Call, name: str, planned: Mapping[str, Any]
    ) -> None:
        """A function run per request or message, outside the app's module: it uses the
        project's shared client through its accessor (plan_lazy)."""
        getter = planned["getter"]
        message = f"{_PER_CALL_MESSAGE}: use the shared one, {getter}()"
        if not self.report(call, "AF304", message, structural=True):
            return
        if planned["module"]:
            AddImportsVisitor.add_needed_import(
                self.context, planned["module"], getter, relative=planned["level"]
            )
        self.rewrites[id(node)] = (name, cst.Call(func=cst.Name(getter)))
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is not None:
            remove_import_if_unused(self.context, scope, call.func)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if id(original_node) not in self.add_request:
            return updated_node
        return updated_node.with_changes(params=with_request(updated_node.params))

    def _problem(self, node: cst.With, call: cst.Call, name: str) -> str | None:
        if call.args:
            return OPTIONS_PROBLEM
        scope = self.get_metadata(ScopeProvider, node, None)
        if not isinstance(scope, FunctionScope) or self.app is None:
            return "not directly in a function body"
        if not resolves_globally(scope, self.app):
            return f"`{self.app}` means something else here"
        head = head_name(call.func)
        if head is None or not resolves_globally(scope, head):
            return f"`{head}` is imported locally; the lifespan cannot see it"
        inside = {id(n) for n in m.findall(node.body, m.Name(name))}
        closing = m.Attribute(value=m.Name(name), attr=m.OneOf(*(m.Name(c) for c in CLOSING)))
        return block_problem(
            name,
            rebound=len(scope[name]) != 1,
            used_after=any(
                id(access.node) not in inside
                for assignment in scope[name]
                for access in assignment.references
            ),
            closes=bool(m.findall(node.body, closing | m.WithItem(item=m.Name(name)))),
        )

    def leave_With(
        self, original_node: cst.With, updated_node: cst.With
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        found = self.rewrites.get(id(original_node))
        if found is None:
            return updated_node
        name, shared = found
        body = cst.ensure_type(updated_node.body, cst.IndentedBlock)
        assign = cst.SimpleStatementLine(
            body=[assign_statement(cst.Name(name), shared)],
            leading_lines=updated_node.leading_lines,
            trailing_whitespace=body.header,
        )
        return cst.FlattenSentinel([assign, *body.body])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        assert self.app is not None or not (self.resources or self.shared)
        for attribute, (package, cls, close) in self.shared.items():
            if attribute not in self.resources:  # for routers in other modules
                AddImportsVisitor.add_needed_import(self.context, package)
                shared = _pooled_client(package, cls, self.run.config)
                self.resources[attribute] = (shared, close)
        for attribute, (create, close) in self.resources.items():
            assert self.app is not None
            added = add_lifespan_resource(
                updated_node, self.app, attribute, create, close, context=self.context
            )
            assert added is not None  # checked on the module before the rewrite
            updated_node = added
        return updated_node


def _is_path_operation(scope: Scope | None) -> bool:
    while scope is not None and not isinstance(scope, GlobalScope):
        if isinstance(scope, FunctionScope) and isinstance(scope.node, cst.FunctionDef):
            return ROUTES.cst_is_route(scope.node)
        scope = scope.parent
    return False


_PER_CALL_MESSAGE = "a new client session per call: no connection reuse"


def _pooled_client(package: str, cls: str, config: Config) -> cst.Call:
    """`aiohttp.ClientSession(connector=aiohttp.TCPConnector(...))` / `httpx.AsyncClient(
    limits=httpx.Limits(...))` with the configured limits already in (none configured: the
    bare client): the import of `package` is only added at the end of the run, so AF303
    could not resolve the new call itself."""
    client = cst.Call(func=cst.Attribute(cst.Name(package), cst.Name(cls)))
    limits = pool_limits(config, package)
    if not limits:
        return client
    keyword, factory = POOL_OWNERS[f"{package}.{cls}"]
    pool = cst.Call(func=cst.Attribute(cst.Name(package), cst.Name(factory.rpartition(".")[2])))
    for name, value in limits.items():
        pool = add_keyword(pool, name, cst.Integer(str(value)))
    return explode(add_keyword(client, keyword, pool), "    ", one_per_line=False)
