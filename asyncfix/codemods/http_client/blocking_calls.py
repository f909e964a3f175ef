"""AF204 (a blocking stdlib or DB-API call in an async def) and AF205 (a call of a project
function that blocks): the codemod BlockingCalls, which offloads them to a thread or
reports the async replacement."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, Scope, ScopeProvider

from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    inside_sync_lock,
    is_primary_operand,
    loop_context,
    make_await,
    module_name_at,
    to_thread_call,
)
from asyncfix.codemods.http_client._shared import ASYNCIO_TAKEN, dotted_of, qualified_names
from asyncfix.codemods.http_client.blocking_apis import (
    DIRECT,
    DIRECT_FINDING_ONLY,
    DIRECT_TO_THREAD,
    FS_QUERIES,
)
from asyncfix.codemods.http_client.blocking_paths import may_call_path_io, path_method
from asyncfix.codemods.http_client.blocking_plan import (
    USES_LOOP,
    index_modules,
    local_sites,
    plan_blocking_calls,
)
from asyncfix.codemods.http_client.screen import Callees, Lines, module_shape
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config
from asyncfix.index import ProjectIndex
from asyncfix.versions import ASYNCIO_TO_THREAD, missing

AF204 = Rule(
    code="AF204",
    name="blocking-call-in-async",
    summary=(
        "subprocess, sockets, urlopen, sync DB-API, open(), os/shutil/pathlib file calls in "
        "async def -> asyncio.to_thread"
    ),
    why=(
        "A blocking call in an async def holds the event loop's thread until it returns: "
        "every other request on this worker waits for the subprocess, the socket or the disk."
    ),
    fix=(
        "Calls that return a plain value (subprocess.run/call/check_call/check_output, "
        "os.system, socket.gethostbyname/getaddrinfo; the file system's os.remove/unlink/"
        "rename/replace/makedirs/mkdir/rmdir/listdir/stat and the like, os.path.exists/"
        "isfile/isdir/getsize/getmtime..., shutil.copy/copy2/copyfile/copytree/move/rmtree, "
        "and pathlib.Path read_text/write_text/read_bytes/write_bytes on a provable Path) "
        "become `await asyncio.to_thread(fn, "
        "*args, **kwargs)`: the arguments are evaluated first, on the loop, as before; only "
        "the call runs in a worker thread. Calls whose result keeps blocking (urlopen, "
        "socket.create_connection, psycopg2/sqlite3/pymysql connect, open, Path.open, "
        "os.scandir, os.walk) are reported with "
        "the async replacement to use (aiohttp/httpx2, asyncio.open_connection, asyncpg, "
        "aiosqlite, aiofiles). Not rewritten: calls in a generator expression and calls under "
        "a `with <lock>:`."
    ),
    before=(
        "import subprocess\n"
        "\n"
        "\n"
        "async def version():\n"
        '    out = subprocess.check_output(["git", "describe"], text=True)\n'
        "    return out.strip()\n"
    ),
    after=(
        "import asyncio\n"
        "import subprocess\n"
        "\n"
        "\n"
        "async def version():\n"
        '    out = await asyncio.to_thread(subprocess.check_output, ["git", "describe"], '
        "text=True)\n"
        "    return out.strip()\n"
    ),
)

AF205 = Rule(
    code="AF205",
    name="blocking-project-function-in-async",
    summary="async def calls a project function that blocks -> await asyncio.to_thread(fn, ...)",
    why=(
        "A sync helper that calls requests, time.sleep or subprocess blocks the event loop "
        "just as much when an async def calls it, even from another module; linters that "
        "look only at direct calls miss it."
    ),
    fix=(
        "The project index finds every plain sync function that blocks, directly or through "
        "other project functions, across modules. A call to one from an async def becomes "
        "`await asyncio.to_thread(helper, *args, **kwargs)`. Generators and decorated "
        "functions are not followed (calling them may not run their body). Not rewritten: "
        "calls in a generator expression and calls under a `with <lock>:`."
    ),
    before=(
        "import time\n"
        "\n"
        "\n"
        "def backoff(attempt):\n"
        "    time.sleep(2**attempt)\n"
        "\n"
        "\n"
        "async def retry(job, attempt):\n"
        "    backoff(attempt)\n"
        "    return await job()\n"
    ),
    after=(
        "import asyncio\n"
        "import time\n"
        "\n"
        "\n"
        "def backoff(attempt):\n"
        "    time.sleep(2**attempt)\n"
        "\n"
        "\n"
        "async def retry(job, attempt):\n"
        "    await asyncio.to_thread(backoff, attempt)\n"
        "    return await job()\n"
    ),
)


class BlockingCalls(AsyncfixCodemod):
    """AF204 (a blocking stdlib/DB-API call) and AF205 (a project function that blocks)."""

    NAME = "blocking-calls"
    FAMILY = "http_client"
    RULES = (AF204, AF205)
    TRIGGERS = (b"async",)
    PLAN_COST = 0.06
    INDEXES = (b"async",)  # the async defs' callees (see index_modules)
    PLAN_REACH = (b"async",)  # (its sites are calls in async defs)
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, context: Any, run: Any) -> None:
        super().__init__(context, run)
        self._names: list[str] = []
        self._paths: dict[cst.FunctionDef, str] = {}
        self._sites: dict[str, dict[str, str]] = {}

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        # (a run given some files reads their entries alone: only their sites are looked
        # for, and what blocks among the functions they reach, when that is exact)
        return plan_blocking_calls(index_modules(index, index.given), among=index.given)

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Every site, AF204 or AF205, is a call in an async def (see leave_Call).
        if view.plans.get(cls.NAME):
            return True
        shape = module_shape(view.tree)
        if not shape.defs[ast.AsyncFunctionDef]:
            return False
        lines = Lines(view.source)
        if Callees(DIRECT.qualnames, shape.imports).called_in(
            shape.defs[ast.AsyncFunctionDef], lines
        ):
            return True
        if may_call_path_io(view.tree, shape):
            return True
        return "AF205" in view.enabled and bool(
            local_sites(view.path, view.source, view.tree, shape, lines)
        )

    def screen(self, module: cst.Module) -> bool:
        self._sites = dict(self.planned or {})
        tree = self.run.syntax_tree()
        if not self._sites and self.enabled("AF205") and tree is not None:
            # Without a project plan for this file: the same analysis, on this module.
            self._sites = local_sites(self.run.path, self.run.code_bytes(module), tree)
        return bool(self._sites) or (
            tree is not None and (DIRECT.may_occur(tree) or may_call_path_io(tree))
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._names.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self._names.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._paths[node] = ".".join([*self._names, node.name.value])
        self._names.extend([node.name.value, "<locals>"])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        del self._names[-2:]
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        scope = self.get_metadata(ScopeProvider, original_node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return updated_node
        names = qualified_names(self, original_node)
        if isinstance(original_node.func, cst.Attribute):
            # `open(p).read()`: libcst names the outer call `builtins.open` too (it was
            # reported twice); a method call's name ends with the method.
            method = original_node.func.attr.value
            names = {name for name in names if name.rpartition(".")[2] == method}
        path = path_method(self, original_node)  # a Path's I/O method, on a provable Path
        direct = sorted((names | ({path} if path else set())) & DIRECT.qualnames)
        if direct:
            return self._direct(original_node, updated_node, direct[0], scope, where)
        callee = dotted_of(original_node.func)
        chain = self._sites.get(self._paths.get(where.function, ""), {}).get(callee or "")
        if chain is None:
            return updated_node
        chain, _, loop_api = chain.partition(USES_LOOP)
        message = f"{callee}() blocks the event loop: {chain}"
        if loop_api:
            reason = f"it calls {loop_api}(), which raises RuntimeError in a worker thread"
            self.report(original_node, "AF205", message, reason=reason)
            return updated_node
        return self._offload(original_node, updated_node, "AF205", message, scope, where)

    def _direct(
        self, original: cst.Call, updated: cst.Call, name: str, scope: Scope, where: Any
    ) -> cst.BaseExpression:
        shown = name.removeprefix("builtins.")
        if name in DIRECT_FINDING_ONLY:
            replacement, reason = DIRECT_FINDING_ONLY[name]
            self.report(
                original,
                "AF204",
                f"{shown}() blocks the event loop inside async def; use {replacement}",
                reason=reason,
            )
            return updated
        message = f"{shown}() blocks the event loop inside async def"
        if name in FS_QUERIES and self._decides(original):
            # The act it decides may be in a caller (a free name, then a write): a new
            # suspension point would let concurrent calls change the file in between.
            self.report(original, "AF204", message, reason=_CHECK_THEN_ACT)
            return updated
        return self._offload(
            original, updated, "AF204", message, scope, where, alternative=DIRECT_TO_THREAD[name]
        )

    def _decides(self, call: cst.Call) -> bool:
        """Does the call's answer decide what runs next (an `if`/`while` test, a
        conditional expression's, an `assert`), through `not`, `and`/`or`, comparisons?"""
        node: cst.CSTNode = call
        while True:
            parent = self.get_metadata(ParentNodeProvider, node, None)
            if isinstance(parent, cst.If | cst.While | cst.IfExp | cst.Assert):
                return parent.test is node
            if not isinstance(
                parent,
                cst.UnaryOperation | cst.BooleanOperation | cst.Comparison | cst.ComparisonTarget,
            ):
                return False
            node = parent

    def _offload(
        self,
        original: cst.Call,
        updated: cst.Call,
        code: str,
        message: str,
        scope: Scope,
        where: Any,
        alternative: str | None = None,
    ) -> cst.BaseExpression:
        reason = None
        if where.in_generator_expression:
            reason = "inside a generator expression an await would make it an async generator"
        elif inside_sync_lock(self._statements, where.function):
            reason = "awaiting while a thread lock is held can deadlock the event loop"
        else:
            reason = split_section(where.function, scope, original, module=self.run.original)
        asyncio = module_name_at(scope, "asyncio", "to_thread")
        if reason is None and asyncio is None:
            reason = ASYNCIO_TAKEN
        if reason is None:
            reason = missing(self.run.config, ASYNCIO_TO_THREAD, self.run.path)
        if reason is not None or asyncio is None:
            self.report(original, code, message, reason=reason)
            return updated
        fix = "; run it in a thread: await asyncio.to_thread(...)"
        if alternative:
            fix += f" (or use {alternative})"
        if not self.report(original, code, message + fix):
            return updated
        asyncio.add_import(self.context)
        parent = self.get_metadata(ParentNodeProvider, original, None)
        call = to_thread_call(asyncio, updated)
        return make_await(call, as_primary=is_primary_operand(parent, original))


_CHECK_THEN_ACT = (
    "its answer decides what the code does next: in a thread, concurrent calls could "
    "change the file between the check and the act"
)
