"""AF202: `with requests.Session() as s:` in an async def becomes `async with` the
target's client, each `s.<method>(...)` in it an awaited call; a Session whose lifetime
cannot be seen (kept in a variable, made at module level) is reported."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import Assignment, ParentNodeProvider, Scope, ScopeProvider

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    inside_sync_lock,
    loop_context,
    module_name_at,
    remove_import_if_unused,
)
from asyncfix.codemods.http_client._shared import (
    awaitable_in,
    client_module,
    here,
    qualified_names,
)
from asyncfix.codemods.http_client.arguments import map_arguments
from asyncfix.codemods.http_client.blocking_apis import REQUEST_METHODS, SESSION_MAKERS
from asyncfix.codemods.http_client.exceptions import ExceptMapping
from asyncfix.codemods.http_client.options import HttpOptions, async_client
from asyncfix.codemods.http_client.responses import ResponseUse, ResponseUses


class Sessions:
    """The `with requests.Session() as s:` blocks a codemod converts, and their calls."""

    def __init__(
        self,
        codemod: AsyncfixCodemod,
        options: HttpOptions,
        responses: ResponseUses,
        excepts: ExceptMapping,
    ) -> None:
        self._codemod = codemod
        self._options = options
        self._responses = responses
        self._excepts = excepts
        self.calls: dict[cst.Call, tuple[str, list[cst.Arg], str]] = {}  # -> client, args, method
        self._withs: set[cst.With] = set()
        self.makers: set[cst.Call] = set()  # the Session() of each `with`, converted or not

    def report_unmanaged(self, call: cst.Call, scope: Scope) -> None:
        """A Session used outside a `with` whose lifetime asyncfix can see."""
        if self._module_session(call, scope):
            self._codemod.report(
                call,
                "AF202",
                "a module-level requests.Session blocks the event loop inside async def",
                reason="it needs a shared async client, created and closed in the lifespan",
            )
        elif call not in self.makers and qualified_names(self._codemod, call) & SESSION_MAKERS:
            self._codemod.report(
                call,
                "AF202",
                "requests.Session() used inside async def",
                reason="only `with requests.Session() as s:` has a lifetime asyncfix can see",
            )

    def _module_session(self, call: cst.Call, scope: Scope) -> bool:
        """`session.get(...)` on a `session = requests.Session()` made at module level."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return False
        if func.attr.value not in REQUEST_METHODS or func.value.value not in scope:
            return False
        for assignment in scope[func.value.value]:
            if not isinstance(assignment, Assignment) or assignment.scope is not scope.globals:
                continue
            target = self._codemod.get_metadata(ParentNodeProvider, assignment.node, None)
            assign = (
                self._codemod.get_metadata(ParentNodeProvider, target, None) if target else None
            )
            if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call):
                names = qualified_names(self._codemod, assign.value)
                if names & SESSION_MAKERS:
                    return True
        return False

    def enter(self, node: cst.With, statements: list[cst.CSTNode]) -> None:
        """`with requests.Session() as s:` in an async def (`statements`: those open)."""
        if node.asynchronous is not None or len(node.items) != 1:
            return
        item = node.items[0]
        maker = item.item
        if not isinstance(maker, cst.Call) or not (
            qualified_names(self._codemod, maker) & SESSION_MAKERS
        ):
            return
        scope = self._codemod.get_metadata(ScopeProvider, node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return
        self.makers.add(maker)
        message = "requests.Session() blocks the event loop inside async def"
        reason, calls = self._refusal(node, maker, scope, where.function, statements)
        if reason is not None:
            self._codemod.report(maker, "AF202", message, reason=reason)
            return
        if not self._codemod.report(
            maker, "AF202", message + f"; use {self._options.library}'s async client"
        ):
            return
        self._withs.add(node)
        for call, (name, mapped, method, use) in calls.items():
            self.calls[call] = (name, mapped, method)
            self._responses.adopt(use)

    def _refusal(
        self,
        node: cst.With,
        maker: cst.Call,
        scope: Scope,
        function: cst.FunctionDef,
        statements: list[cst.CSTNode],
    ) -> tuple[str | None, dict[cst.Call, tuple[str, list[cst.Arg], str, ResponseUse]]]:
        calls: dict[cst.Call, tuple[str, list[cst.Arg], str, ResponseUse]] = {}
        module = module_name_at(scope, self._options.library)
        if module is None:
            return f"the name `{self._options.library}` is bound to something else here", calls
        if maker.args:
            return "a Session() with arguments is unusual", calls
        if inside_sync_lock(statements, function):
            return "awaiting while a thread lock is held can deadlock the event loop", calls
        asname = node.items[0].asname
        if asname is None or not isinstance(asname.name, cst.Name):
            return "the session is not bound to a name", calls
        name = asname.name.value
        assignment = next(
            (a for a in scope.assignments[name] if getattr(a, "node", None) is asname.name), None
        )
        if not isinstance(assignment, Assignment):
            return "the session is not bound to a name", calls
        end = here(self._codemod, node)
        for ref in assignment.references:
            parent = self._codemod.get_metadata(ParentNodeProvider, ref.node, None)
            grand = self._codemod.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if len(ref.referents) > 1 or not awaitable_in(ref.scope, scope):
                return f"`{name}` is also used elsewhere (another value, a nested function)", calls
            if not (
                isinstance(parent, cst.Attribute)
                and parent.attr.value in REQUEST_METHODS
                and isinstance(grand, cst.Call)
                and grand.func is parent
            ):
                what = (
                    f"`{name}.{parent.attr.value}`" if isinstance(parent, cst.Attribute) else name
                )
                return f"{what} is used, not only its request methods", calls
            method = parent.attr.value
            mapped = map_arguments(method, grand, module.name, self._options)
            use = self._responses.of(grand, scope)
            if mapped.reason or use.reason:
                return mapped.reason or use.reason, calls
            if use.read and end is not None:
                for r in use.references:
                    at = here(self._codemod, r)
                    if at is None or at.start.line > end.end.line:
                        return "aiohttp reads the body lazily; it is used after the session", calls
            calls[grand] = (name, mapped.args, method, use)
        awaited = [a for call, (*_, use) in calls.items() for a in (call, *use.awaited)]
        split = split_section(function, scope, node, *awaited, module=self._codemod.run.original)
        if split is not None:
            return split, calls
        inner = [t for t in m.findall(node.body, m.Try()) if isinstance(t, cst.Try)]
        refusal = self._excepts.refusal()
        if refusal:
            return refusal, calls
        for t in inner:
            refusal = self._excepts.handlers_refusal(t)
            if refusal:
                return refusal, calls
        return None, calls

    def leave(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if original_node not in self._withs:
            return updated_node
        scope = self._codemod.get_metadata(ScopeProvider, original_node, None)
        module = (
            client_module(self._codemod, scope, self._options.library)
            if scope is not None
            else None
        )
        if module is None or scope is None:
            return updated_node
        item = original_node.items[0]
        remove_import_if_unused(self._codemod.context, scope, item.item.func)  # type: ignore[attr-defined]
        return updated_node.with_changes(
            asynchronous=cst.Asynchronous(),
            items=[
                updated_node.items[0].with_changes(
                    item=async_client(self._options, module, pooled=False)
                )
            ],
        )
