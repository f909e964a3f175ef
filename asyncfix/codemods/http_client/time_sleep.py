"""AF203: time.sleep() in an async def -> await asyncio.sleep()."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    inside_sync_lock,
    is_primary_operand,
    loop_context,
    make_await,
    module_name_at,
    remove_import_if_unused,
)
from asyncfix.codemods.http_client.blocking_apis import SLEEP
from asyncfix.codemods.http_client.screens import screen_time_sleep
from asyncfix.codemods.http_client.sites_cst import names_of, spelt_in

AF203 = Rule(
    code="AF203",
    name="time-sleep-in-async",
    summary="time.sleep() in async def -> await asyncio.sleep()",
    why=(
        "time.sleep() suspends the whole thread, and in an async def that thread is the "
        "event loop's: every other request served by this worker stops for the duration."
    ),
    fix=(
        "await asyncio.sleep(x) suspends only this coroutine. The import of asyncio is "
        "added; the import of time is removed when nothing else uses it. Not rewritten: "
        "calls in a generator expression (an await would make it an async generator), "
        "calls with unexpected arguments, and calls under a `with <lock>:` (awaiting while "
        "holding a thread lock can deadlock the loop)."
    ),
    before=(
        "import time\n"
        "\n"
        "\n"
        "async def poll(job):\n"
        "    while not job.done():\n"
        "        time.sleep(0.5)\n"
    ),
    after=(
        "import asyncio\n"
        "\n"
        "\n"
        "async def poll(job):\n"
        "    while not job.done():\n"
        "        await asyncio.sleep(0.5)\n"
    ),
    local_fix=True,
)


class TimeSleep(AsyncfixCodemod):
    NAME = "time-sleep"
    FAMILY = "http_client"
    RULES = (AF203,)
    TRIGGERS = (b"async", b"sleep")
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    SCREEN = staticmethod(screen_time_sleep)

    def screen(self, module: cst.Module) -> bool:
        # No earlier codemod writes time.sleep: the source's own ast tells if one is there.
        # Anywhere, though: an earlier codemod may move code into an async def (lifespan).
        tree = self.run.syntax_tree()
        if tree is None:
            return spelt_in(SLEEP, module)
        return SLEEP.may_occur(tree)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not names_of(SLEEP, self, original_node):
            return updated_node
        scope = self.get_metadata(ScopeProvider, original_node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return updated_node  # sync code may sleep; only the event loop must not
        message = "time.sleep() blocks the event loop inside async def"
        reason = self._refusal(original_node, where.function, where.in_generator_expression)
        reason = reason or split_section(
            where.function, scope, original_node, module=self.run.original
        )
        if reason is not None:
            self.report(original_node, "AF203", message, reason=reason)
            return updated_node
        asyncio = module_name_at(scope, "asyncio", "sleep")
        if asyncio is None:
            self.report(
                original_node,
                "AF203",
                message,
                reason="the name `asyncio` is bound to something else here",
            )
            return updated_node
        if not self.report(original_node, "AF203", message + "; use await asyncio.sleep()"):
            return updated_node
        asyncio.add_import(self.context)
        remove_import_if_unused(self.context, scope, original_node.func)
        call = updated_node.with_changes(func=asyncio.attribute("sleep"))
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        return make_await(call, as_primary=is_primary_operand(parent, original_node))

    def _refusal(self, call: cst.Call, function: cst.FunctionDef, in_genexp: bool) -> str | None:
        if in_genexp:
            return "inside a generator expression an await would make it an async generator"
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return "time.sleep() takes exactly one positional argument; this call is unusual"
        if inside_sync_lock(self._statements, function):
            return "awaiting while a thread lock is held can deadlock the event loop"
        return None
