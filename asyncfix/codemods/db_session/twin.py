"""AF403: code outside requests that opens a session by hand uses a context-manager
twin of the session dependency, get_db_session(); sessions handed to background
tasks are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    BuiltinAssignment,
    GlobalScope,
    ParentNodeProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import (
    FileRun,
    Rule,
)
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.db_session._shared import (
    CONTEXT_MANAGERS,
    TWIN,
    body_statements,
    bound_in,
    code_of,
)
from asyncfix.codemods.db_session.names import (
    ADD_TASK,
    ASYNC_SESSIONS,
    DEPENDS,
    SYNC_SESSIONS,
    Kind,
)
from asyncfix.codemods.db_session.scope import Creation, ScopePass
from asyncfix.codemods.db_session.shapes import (
    block_lines,
    close_call,
    docstring_split,
    is_fixed_scope,
    loses_comments,
    single_assign,
    transactional_with,
    with_statement,
)

AF403 = Rule(
    code="AF403",
    name="session-outside-request",
    summary="session opened by hand outside a request -> get_db_session() context manager",
    why=(
        "Background jobs and scripts that open a session by hand repeat the commit, "
        "rollback and close logic, usually incompletely. A request-scoped session handed "
        "to BackgroundTasks.add_task() is closed by its dependency before the task runs."
    ),
    fix=(
        "An @asynccontextmanager (or @contextmanager) `get_db_session()` with the same "
        "transactional scope as the dependency is generated beside it, and each "
        "`db = Factory(); try: ... finally: db.close()` in the module becomes "
        "`async with get_db_session() as db: ...` (which also commits on success unless "
        "commit-on-exit = false). A session passed to add_task() is reported."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
        "\n"
        "\n"
        "async def purge_expired():\n"
        "    db = SessionLocal()\n"
        "    try:\n"
        "        await db.execute(DELETE_EXPIRED)\n"
        "    finally:\n"
        "        await db.close()\n"
    ),
    after=(
        "from contextlib import asynccontextmanager\n"
        "\n"
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
        "\n"
        "\n"
        "@asynccontextmanager\n"
        "async def get_db_session():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
        "\n"
        "\n"
        "async def purge_expired():\n"
        "    async with get_db_session() as db:\n"
        "        await db.execute(DELETE_EXPIRED)\n"
    ),
)


@dataclass(frozen=True)
class Twin:
    """The get_db_session() context manager AF403 uses: generated, or already there."""

    factory: str  # code of the factory call, `SessionLocal()`
    kind: Kind
    dependency: cst.FunctionDef | None  # the function it is generated beside; None: exists
    node: cst.FunctionDef | None  # the generated function
    anchor: cst.FunctionDef  # the module-level def after which get_db_session() exists


class TwinPass(ScopePass):
    """AF403, the third part of SessionCodemod: sessions opened by hand outside requests,
    the get_db_session() twin they use instead, and sessions handed to background tasks."""

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context, run)
        # function -> the `name = F()` lines whose `try` becomes `with get_db_session()`
        self._sites: dict[cst.FunctionDef, dict[cst.BaseStatement, cst.With]] = {}
        self._twin: Twin | None = None

    def _dependencies(
        self, functions: list[cst.FunctionDef]
    ) -> list[tuple[cst.FunctionDef, Creation]]:
        """Module-level generator functions that yield a session they make."""
        found = []
        for function in functions:
            if not isinstance(self.get_metadata(ParentNodeProvider, function, None), cst.Module):
                continue
            if not self.is_generator(function) or self.is_fixture(function):
                continue
            creation = self._creation(self.own_nodes(function), yielded_only=True)
            if creation is not None:
                found.append((function, creation))
        return found

    def _plan_twin(self, module: cst.Module, functions: list[cst.FunctionDef]) -> None:
        sites = [
            (function, creation)
            for function in functions
            if not self.is_generator(function) and not self.is_fixture(function)
            for creation in self._hand_made(function)
        ]
        if not sites:
            return
        twin, problem = self._twin_for(module, functions)
        accepted = False
        for function, creation in sites:
            message = f"`{function.name.value}` opens a session by hand"
            reason = problem or self._site_refusal(function, creation, twin)
            if reason is None and twin is not None:
                reason = self._runs_before_twin(module, function, twin.anchor)
            if reason is None and twin is not None and twin.kind == "async":
                # `async with get_db_session()` awaits where `db = Factory()` did not.
                scope = self.get_metadata(ScopeProvider, creation.call, None)
                reason = split_section(function, scope, creation.call, module=module)
            with_node: cst.With | None = None
            if reason is None and twin is not None:
                with_node = self._site_with(function, creation, twin)
                old = [creation.statement, self._next_statement(function, creation.statement)]
                if loses_comments([s for s in old if s is not None], [with_node]):
                    reason = "a comment in the session code would be lost"
            if reason is not None or with_node is None:
                self.report(
                    creation.statement, "AF403", message, reason=reason or f"no {TWIN}() to use"
                )
                continue
            if self.report(creation.statement, "AF403", message + f"; use {TWIN}()"):
                self._sites.setdefault(function, {})[creation.statement] = with_node
                self._drop_annotation(creation.statement)
                accepted = True
        if accepted and twin is not None and twin.node is not None:
            self._twin = twin
            AddImportsVisitor.add_needed_import(
                self.context, "contextlib", CONTEXT_MANAGERS[twin.kind]
            )

    def _runs_before_twin(
        self, module: cst.Module, function: cst.FunctionDef, dependency: cst.FunctionDef
    ) -> str | None:
        """The twin is defined right after the dependency: a site function that module-level
        code uses above that point may run before get_db_session() exists."""
        scope = self.get_metadata(ScopeProvider, function, None)
        if scope is None:
            return None
        toplevel = {id(stmt): i for i, stmt in enumerate(module.body)}
        limit = toplevel.get(id(dependency), len(module.body))
        for access in scope.globals.accesses[function.name.value]:
            if access.scope is not scope.globals:
                continue  # used inside a function: runs when that function is called
            statement = self._toplevel_of(access.node)
            if statement is not None and toplevel.get(id(statement), limit + 1) <= limit:
                return f"module-level code uses it above the point where {TWIN}() is defined"
        return None

    def _toplevel_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(parent, cst.Module):
                return current
            current = parent
        return None

    def _hand_made(self, function: cst.FunctionDef) -> list[Creation]:
        """`name = F()` statements of the function body with F a session factory."""
        found = []
        for stmt in body_statements(function):
            assigned = single_assign(stmt)
            if assigned is None or self.factory(assigned[1].func)[0] is None:
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            found.append(Creation(assigned[0], assigned[1], stmt))
        return found

    def _next_statement(
        self, function: cst.FunctionDef, stmt: cst.BaseStatement
    ) -> cst.BaseStatement | None:
        body = list(body_statements(function))
        index = body.index(stmt)
        return body[index + 1] if index + 1 < len(body) else None

    def _twin_for(
        self, module: cst.Module, functions: list[cst.FunctionDef]
    ) -> tuple[Twin | None, str | None]:
        """The get_db_session() to use: the module's own, or one to generate beside the
        session dependency; else None and why not."""
        existing = [
            s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == TWIN
        ]
        if existing:
            twin = existing[0]
            decorators = {q for d in twin.decorators for q in self.qnames(d.decorator)}
            body = docstring_split(body_statements(twin))[1]
            if (
                len(body) == 1
                and is_fixed_scope(body[0]) is not None
                and isinstance(body[0], cst.With)
            ):
                kind: Kind = "async" if body[0].asynchronous else "sync"
                if f"contextlib.{CONTEXT_MANAGERS[kind]}" in decorators:
                    item = body[0].items[0].item
                    return Twin(code_of(item), kind, None, None, twin), None
            return None, f"`{TWIN}` already exists and is not the expected context manager"
        scope = self.get_metadata(ScopeProvider, module, None)
        if scope is not None and bound_in(scope, TWIN):
            return None, f"the name `{TWIN}` is already used in this module"
        dependencies = self._dependencies(functions)
        if not dependencies:
            return None, f"no session dependency in this module to generate {TWIN}() beside"
        # The first dependency whose session the twin can make the same way.
        problems: list[str] = []
        picked: tuple[cst.FunctionDef, Creation, Kind] | None = None
        for candidate, made in dependencies:
            factory_kind, unknown = self.factory(made.call.func)
            if factory_kind is None:
                problems.append(f"the dependency's factory: {unknown}")
            elif not self._module_level_call(made.call):
                problems.append("the dependency's session factory call uses local names")
            else:
                picked = (candidate, made, factory_kind)
                break
        if picked is None:
            return None, problems[0]
        dependency, creation, kind = picked
        if scope is not None and bound_in(scope, CONTEXT_MANAGERS[kind], importable=True):
            return None, f"the name `{CONTEXT_MANAGERS[kind]}` means something else here"
        if self.exception_shadowed(module):
            return None, "the name `Exception` is rebound in this module"
        node = self._twin_node(creation, kind)
        return Twin(code_of(creation.call), kind, dependency, node, dependency), None

    def _module_level_call(self, call: cst.Call) -> bool:
        """Does `call` mean the same in a new module-level function (`Session(engine)`)?"""
        if any(arg.star for arg in call.args):
            return False
        for ref in self._free_names(call):
            scope = self.get_metadata(ScopeProvider, ref, None)
            if scope is None:
                return False
            for assignment in scope[ref.value]:
                if not isinstance(assignment, BuiltinAssignment) and not isinstance(
                    assignment.scope, GlobalScope
                ):
                    return False
        return True

    def _twin_node(self, creation: Creation, kind: Kind) -> cst.FunctionDef:
        config = self.parser_config()
        name = creation.name
        with_node = with_statement(creation.call.deep_clone(), name, kind, config)
        yield_stmt = cst.parse_statement(f"yield {name}\n", config=config)
        scope = transactional_with(
            with_node, name, kind, yield_stmt, self.options.commit_on_exit, config
        )
        asynchronous = "async " if kind == "async" else ""
        header = f"@{CONTEXT_MANAGERS[kind]}\n{asynchronous}def {TWIN}():\n    pass\n"
        function = cst.parse_statement(header, config=config)
        assert isinstance(function, cst.FunctionDef)
        return function.with_changes(body=cst.IndentedBlock(body=[scope]))

    def _site_refusal(
        self, function: cst.FunctionDef, creation: Creation, twin: Twin | None
    ) -> str | None:
        if twin is None:
            return f"no {TWIN}() to use"
        name = creation.name
        kind, _ = self.factory(creation.call.func)
        if code_of(creation.call) != twin.factory:
            return (
                f"it is made by `{code_of(creation.call)}`, not by `{twin.factory}` as in {TWIN}()"
            )
        if kind != twin.kind:
            return "its kind differs from the dependency's session"
        if kind == "async" and function.asynchronous is None:
            return "an async session in a sync def"
        tried = self._next_statement(function, creation.statement)
        if not isinstance(tried, cst.Try) or tried.finalbody is None:
            return "the session is not closed in a `finally` right after it is opened"
        if tried.handlers or tried.orelse is not None:
            return "the `try` handles exceptions itself; merge it with the scope by hand"
        closing = block_lines(tried.finalbody.body)
        if len(closing) != 1 or not close_call(closing[0], name, kind):
            close = f"await {name}.close()" if kind == "async" else f"{name}.close()"
            return f"the `finally` does more than `{close}`"
        body = list(body_statements(function))
        after = body[body.index(tried) + 1 :]
        if any(m.findall(stmt, m.Name(name)) for stmt in after):
            return "the session name is used after the `try`"
        scope = self.get_metadata(ScopeProvider, creation.call, None)
        if scope is not None and len(list(scope[name])) != 1:
            return f"`{name}` is assigned more than once in the function"
        if scope is not None and any(not isinstance(a.scope, GlobalScope) for a in scope[TWIN]):
            return f"the name `{TWIN}` means something else in this function"
        if any(close_call(s, name, kind) for s in block_lines(tried.body)):
            return "the session is closed inside the `try` too"
        return None

    def _site_with(self, function: cst.FunctionDef, creation: Creation, twin: Twin) -> cst.With:
        tried = self._next_statement(function, creation.statement)
        assert isinstance(tried, cst.Try)
        call = cst.Call(func=cst.Name(TWIN))
        with_node = with_statement(call, creation.name, twin.kind, self.parser_config())
        body = tried.body
        assert isinstance(creation.statement, cst.SimpleStatementLine)
        own = creation.statement.trailing_whitespace
        # `db = F()  # note` -> `with get_db_session() as db:  # note` (when the `try:`
        # line has no comment of its own; else the comment check refuses the site)
        if (
            own.comment is not None
            and isinstance(body, cst.IndentedBlock)
            and body.header.comment is None
        ):
            body = body.with_changes(header=own)
        return with_node.with_changes(leading_lines=creation.statement.leading_lines, body=body)

    def _report_background_tasks(self, functions: list[cst.FunctionDef]) -> None:
        dependencies = {f.name.value for f, _ in self._dependencies(functions)}
        for function in functions:
            sessions = self._session_params(function, dependencies)
            if not sessions:
                continue
            for node in self.own_nodes(function):
                if not m.matches(node, m.Call(func=m.Attribute(attr=m.Name(ADD_TASK)))):
                    continue
                assert isinstance(node, cst.Call)
                for arg in node.args:
                    if isinstance(arg.value, cst.Name) and arg.value.value in sessions:
                        self.report(
                            arg,
                            "AF403",
                            f"request-scoped session `{arg.value.value}` handed to a "
                            "background task",
                            reason=(
                                "the dependency closes the session when the request is done, "
                                f"before the task runs; open one in the task with {TWIN}()"
                            ),
                        )

    def _session_params(self, function: cst.FunctionDef, dependencies: set[str]) -> set[str]:
        found = set()
        params = function.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            annotation = (
                self.alias_target(param.annotation.annotation) if param.annotation else None
            )
            depends = [param.default] if param.default is not None else []
            if isinstance(annotation, cst.Subscript):
                depends += [
                    e.slice.value for e in annotation.slice[1:] if isinstance(e.slice, cst.Index)
                ]
                first = annotation.slice[0].slice
                annotation = first.value if isinstance(first, cst.Index) else None
            for call in depends:
                if not isinstance(call, cst.Call) or not self.qnames(call.func) & DEPENDS:
                    continue
                target = call.args[0].value if call.args else None
                session_type = annotation is not None and bool(
                    self.qnames(annotation) & (SYNC_SESSIONS | ASYNC_SESSIONS)
                )
                if session_type or (isinstance(target, cst.Name) and target.value in dependencies):
                    found.add(param.name.value)
        return found
