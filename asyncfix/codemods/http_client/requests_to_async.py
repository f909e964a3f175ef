"""AF201 (requests.get(...) and friends in an async def) and AF202 (`with
requests.Session() as s:`): the codemod RequestsToAsync, which decides each call and
rewrites it onto the target async client (httpx2, httpx or aiohttp). What it leans on is
in its sibling modules: the plan (`requests_plan`), the arguments (`arguments`), the
responses (`responses`), `except requests.*` (`exceptions`), the per-statement clients
(`client_blocks`), sessions (`sessions`) and the app's shared client (`app_client`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import AsyncfixCodemod, Rule, visit_with_metadata
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    LoopContext,
    inside_sync_lock,
    is_primary_operand,
    loop_context,
    make_await,
    module_name_at,
    remove_import_if_unused,
)
from asyncfix.codemods.http_client._shared import client_module, dotted_of, qualified_names
from asyncfix.codemods.http_client.app_client import SharedClient
from asyncfix.codemods.http_client.arguments import Mapped, map_arguments
from asyncfix.codemods.http_client.blocking_apis import REQUEST_METHODS, REQUESTS
from asyncfix.codemods.http_client.client_blocks import ClientBlocks
from asyncfix.codemods.http_client.exceptions import ExceptMapping
from asyncfix.codemods.http_client.options import http_options
from asyncfix.codemods.http_client.requests_plan import plan_requests
from asyncfix.codemods.http_client.responses import ResponseUse, ResponseUses
from asyncfix.codemods.http_client.screens import screen_requests
from asyncfix.codemods.http_client.sessions import Sessions
from asyncfix.codemods.http_client.sites_cst import spelt_in
from asyncfix.config import Config
from asyncfix.index import ProjectIndex

AF201 = Rule(
    code="AF201",
    name="requests-in-async",
    summary="requests.get/post/... in async def -> await on an async client (httpx2/httpx/aiohttp)",
    why=(
        "requests is synchronous: in an async def the whole event loop waits for the network "
        "round trip, so one slow upstream stalls every request this worker serves."
    ),
    fix=(
        "`async with <AsyncClient>(...) as client:` around the smallest statement and "
        "`await client.<method>(...)`, keeping requests' semantics: redirects followed, no "
        "timeout (unless [tool.asyncfix.http_client] says otherwise), requests.head() not "
        "following redirects. allow_redirects -> follow_redirects, str/bytes data -> "
        "content; .ok -> not r.is_error; `except requests.*` guarding the call -> the "
        "target's exceptions. Not rewritten (a finding says why): verify/cert/proxies/stream/"
        "hooks, a response passed on or using requests-only attributes, calls in FastAPI "
        "path operations and dependencies (they need the app's shared client)."
    ),
    before=(
        "import requests\n"
        "\n"
        "\n"
        "async def fetch_user(user_id):\n"
        '    r = requests.get(f"https://api.example.com/users/{user_id}", timeout=10)\n'
        "    r.raise_for_status()\n"
        "    return r.json()\n"
    ),
    after=(
        "import httpx2\n"
        "\n"
        "\n"
        "async def fetch_user(user_id):\n"
        "    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:\n"
        '        r = await client.get(f"https://api.example.com/users/{user_id}", timeout=10)\n'
        "    r.raise_for_status()\n"
        "    return r.json()\n"
    ),
)

AF202 = Rule(
    code="AF202",
    name="requests-session-in-async",
    summary="`with requests.Session() as s:` in async def -> `async with <AsyncClient>() as s:`",
    why=(
        "A requests.Session pools connections but every call on it still blocks the event "
        "loop; a module-level one shared by async handlers blocks them all."
    ),
    fix=(
        "A session used as a context manager becomes the target's async client in an "
        "`async with`, and each `s.get(...)` in it an awaited call, with the same argument, "
        "response and exception mapping as AF201. A Session kept in a variable or at module "
        "level is reported: it needs a shared client created and closed in the app's lifespan."
    ),
    before=(
        "import requests\n"
        "\n"
        "\n"
        "async def sync_all(urls):\n"
        "    with requests.Session() as s:\n"
        "        return [s.get(u).status_code for u in urls]\n"
    ),
    after=(
        "import httpx2\n"
        "\n"
        "\n"
        "async def sync_all(urls):\n"
        "    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as s:\n"
        "        return [(await s.get(u)).status_code for u in urls]\n"
    ),
)


def _imports_module(module: cst.Module, name: str) -> bool:
    """Does `module` import `name` (or a submodule, or names from it) anywhere?"""
    for node in m.findall(module, m.Import() | m.ImportFrom()):
        if isinstance(node, cst.Import):
            heads = [(dotted_of(alias.name) or "") for alias in node.names]
        elif isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
            heads = [dotted_of(node.module) or ""]
        else:
            continue
        if any(head == name or head.startswith(name + ".") for head in heads):
            return True
    return False


class RequestsToAsync(AsyncfixCodemod):
    """AF201 (requests.get(...) and friends) and AF202 (`with requests.Session() as s:`):
    each call decided here, rewritten with the helpers of its sibling modules."""

    NAME = "requests-to-async"
    FAMILY = "http_client"
    RULES = (AF201, AF202)
    AFTER = ("lifespan",)
    TRIGGERS = (b"async", b"requests")
    PLAN_COST = 0.12
    # (every entry is a module of index.modules(b"requests") or of those holding FastAPI)
    PLAN_REACH = (b"FastAPI", b"requests")
    METADATA_DEPENDENCIES = (
        ScopeProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
        PositionProvider,
    )

    def __init__(self, context: Any, run: Any) -> None:
        super().__init__(context, run)
        imported = (self.planned or {}).get("imported_client")
        self.options = http_options(run.config, run.path, imported)
        self.library = self.options.library
        self.blocks = ClientBlocks(self, self.options)
        self.responses = ResponseUses(self, self.options)
        self.excepts = ExceptMapping(self, self.options)
        self.sessions = Sessions(self, self.options, self.responses, self.excepts)
        self.shared = SharedClient(self, self.options)

    @classmethod
    def check_config(cls, config: Config) -> None:
        http_options(config)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return plan_requests(index, config)

    SCREEN = staticmethod(screen_requests)

    def screen(self, module: cst.Module) -> bool:
        planned = self.planned or {}
        # Every site is a qualified name under `requests`: a module that does not import it
        # has none (`.get(` alone matches every dict lookup, so it cannot be the screen).
        if not planned and not _imports_module(module, "requests"):
            return False
        self.shared.collect_dependencies(module)
        return spelt_in(REQUESTS, module)

    def transform(self, module: cst.Module) -> cst.Module:
        result = module
        if self.screen(module):
            self._module = module
            self.shared.app = self.shared.find(module)
            result = visit_with_metadata(self, module)
        return self.shared.install(result)

    # -- the calls ---------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self.sessions.calls:
            self.excepts.mark(True)
            return self._awaited(original_node, updated_node, *self.sessions.calls[original_node])
        body = self.responses.json_call(original_node, updated_node)
        if body is not None:
            return body
        method = self._requests_method(original_node)
        scope = self.get_metadata(ScopeProvider, original_node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return updated_node
        if method is None:
            self.sessions.report_unmanaged(original_node, scope)
            return updated_node
        message = f"requests.{method}() blocks the event loop inside async def"
        reason = self._refusal(where)
        mapped = Mapped()
        use = ResponseUse()
        module = module_name_at(scope, self.library)
        if reason is None and module is None:
            reason = f"the name `{self.library}` is bound to something else here"
        request: str | None = None
        if reason is None and self.shared.is_endpoint(where.function):
            request, reason = self.shared.request_for(where.function, scope)
            if request is not None:
                module = module_name_at(scope.globals, self.library)
        if reason is None and module is not None:
            mapped = map_arguments(method, updated_node, module.name, self.options)
            use = self.responses.of(original_node, scope)
            reason = mapped.reason or use.reason
        if reason is None:
            reason = split_section(
                where.function, scope, original_node, *use.awaited, module=self.run.original
            )
        header = not isinstance(self._statements[-1], cst.SimpleStatementLine)
        if reason is None and request is not None and use.read and header:
            reason = "aiohttp needs the body read after the call; here it is in a header"
        reads = use.read is not None or any(k != "status_code" for k in use.fixes.values())
        aiohttp = self.options.family == "aiohttp"
        if reason is None and request is not None and aiohttp and not reads:
            # On the app's long-lived session an unread response keeps its connection.
            reason = "the body is never read, so aiohttp would keep the pooled connection"

        if reason is not None or module is None:
            self.excepts.mark(False)
            self.report(original_node, "AF201", message, reason=reason)
            return updated_node
        fix = f"; use await on {self.library}'s async client"
        if not self.report(original_node, "AF201", message + fix):
            self.excepts.mark(False)
            return updated_node
        self.excepts.mark(True)
        statement = self._statements[-1]
        if request is not None:
            self.shared.used = True
            if request == "request" and "request" not in scope:
                # (added here, not when asked for: a refused call must leave no parameter)
                self.shared.add_request.add(where.function)
            if use.read:
                self.blocks.read_after(statement, use.read, shared=True)
            self.responses.adopt(use)
            if aiohttp:  # aiohttp.BasicAuth / ClientTimeout arguments
                client_module(self, scope, self.library)
            remove_import_if_unused(self.context, scope, original_node.func)
            client = f"{request}.app.state.http_client"
            return self._awaited(original_node, updated_node, client, mapped.args, method)
        client = self.blocks.client_for(statement, scope)
        if use.read:
            self.blocks.read_after(statement, use.read, shared=False)
        self.responses.adopt(use)
        client_module(self, scope, self.library)
        remove_import_if_unused(self.context, scope, original_node.func)
        return self._awaited(original_node, updated_node, client, mapped.args, method)

    def _requests_method(self, call: cst.Call) -> str | None:
        for name in qualified_names(self, call):
            if name.startswith("requests.") and name.removeprefix("requests.") in REQUEST_METHODS:
                return name.removeprefix("requests.")
        return None

    def _awaited(
        self,
        original: cst.Call,
        updated: cst.Call,
        client: str,
        args: list[cst.Arg],
        method: str | None = None,
    ) -> cst.BaseExpression:
        name = method or (
            updated.func.attr.value if isinstance(updated.func, cst.Attribute) else ""
        )
        func = cst.Attribute(cst.parse_expression(client), cst.Name(name))
        call = updated.with_changes(func=func, args=args)
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return make_await(call, as_primary=is_primary_operand(parent, original))

    def _refusal(self, where: LoopContext) -> str | None:
        assert where.function is not None
        patched: str | None = (self.planned or {}).get("patched")
        if patched:
            return patched
        if where.in_generator_expression:
            return "inside a generator expression an await would make it an async generator"
        if inside_sync_lock(self._statements, where.function):
            return "awaiting while a thread lock is held can deadlock the event loop"
        statement = self._statements[-1] if self._statements else None
        if not self.shared.is_endpoint(where.function) and not isinstance(
            statement, cst.SimpleStatementLine
        ):
            return "the call is in the header of a compound statement or a one-line block"
        return self.excepts.refusal()

    # -- the hooks of the helpers ------------------------------------------------------------

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self.blocks.wrap(original_node, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return self.responses.rewrite_attribute(original_node, updated_node)

    def leave_UnaryOperation(
        self, original_node: cst.UnaryOperation, updated_node: cst.UnaryOperation
    ) -> cst.BaseExpression:
        return self.responses.unnegate(original_node, updated_node)

    def visit_Name(self, node: cst.Name) -> None:
        # r.raise_for_status() inside a try raises the target's exceptions now.
        if node in self.responses.raising:
            self.excepts.mark(True)

    def visit_Try(self, node: cst.Try) -> None:
        self.excepts.enter(node)

    def visit_Try_body(self, node: cst.Try) -> None:
        self.excepts.enter_body()

    def leave_Try_body(self, node: cst.Try) -> None:
        self.excepts.leave_body()

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        return self.excepts.leave(original_node, updated_node)

    def visit_With(self, node: cst.With) -> None:
        self.sessions.enter(node, self._statements)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        return self.sessions.leave(original_node, updated_node)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        return self.shared.add_request_param(original_node, updated_node)
