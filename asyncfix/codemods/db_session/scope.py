"""AF401: a session dependency that only closes its session becomes a transactional
scope (commit on success, rollback and re-raise on error, close guaranteed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.metadata import ScopeProvider

from asyncfix.codemods.base import (
    FileRun,
    Rule,
)
from asyncfix.codemods.db_session._shared import (
    assignment_node,
    body_statements,
    code_of,
    imported_modules,
)
from asyncfix.codemods.db_session.hoist import HoistPass
from asyncfix.codemods.db_session.names import (
    BEGIN,
    OTHER_SESSIONS,
    SESSION_WORD,
    SQL_LIBRARIES,
    Kind,
)
from asyncfix.codemods.db_session.shapes import (
    block_lines,
    close_call,
    docstring_split,
    loses_comments,
    method_calls_on,
    single_assign,
    transactional_with,
    with_statement,
    yields_name,
)
from asyncfix.codemods.helpers import remove_import_if_unused
from asyncfix.versions import FASTAPI_EXIT_BEFORE_RESPONSE, missing

AF401 = Rule(
    code="AF401",
    name="session-dependency-only-closes",
    summary="session dependency that only closes its session -> transactional scope",
    why=(
        "The tutorial's `db = SessionLocal(); try: yield db; finally: db.close()` never "
        "commits and never rolls back explicitly: work an endpoint forgets to commit is "
        "silently discarded, and an error leaves the rollback to close()."
    ),
    fix=(
        "`with`/`async with Factory() as db:` around `try: yield db; commit` and "
        "`except Exception: rollback; raise`: committed on success, rolled back and "
        "re-raised on error, closed on every path. The function keeps its name and "
        "signature, so Depends(get_db) and dependency_overrides keep working. "
        "`[tool.asyncfix.db_session] commit-on-exit = false` leaves the commit out. "
        "FastAPI runs a dependency's code after `yield` once the response is sent, so a "
        "failing commit is not reported to that client; an endpoint that must report it "
        'commits itself or uses Depends(get_db, scope="function") (recent FastAPI); so '
        "the commit is added only where every FastAPI version the project declares runs "
        "that code before the response is sent (0.106 to 0.117), or none is declared. Not "
        "rewritten: a factory not provably a sessionmaker or Session class, extra "
        "statements, the yield inside another block, a session already committed by hand. "
        "Not reported: a dependency that opens its session with `with`/`async with` (it is "
        "closed on every path, and a commit added after `yield` would move the transaction "
        "boundary of a project that commits itself), and a `session` with no evidence of "
        "being SQLAlchemy's or SQLModel's (a module that imports neither, an aiohttp or "
        "httpx session)."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    db = SessionLocal()\n"
        "    try:\n"
        "        yield db\n"
        "    finally:\n"
        "        await db.close()\n"
    ),
    after=(
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
    ),
)


@dataclass(frozen=True)
class Creation:
    """Where a function makes the session it yields or uses."""

    name: str
    call: cst.Call
    statement: cst.SimpleStatementLine | cst.With  # `name = F()` or `with F() as name:`


class ScopePass(HoistPass):
    """AF401, the second part of SessionCodemod: session dependencies that only close their
    session, and the transactional body each gets."""

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context, run)
        # function -> its new body (docstring and the transactional `with`)
        self._scopes: dict[cst.FunctionDef, list[cst.BaseStatement]] = {}

    def _plan_scope(self, function: cst.FunctionDef) -> None:
        if not self.is_generator(function) or self.is_fixture(function):
            return
        nodes = self.own_nodes(function)
        creation = self._creation(nodes, yielded_only=True)
        if creation is None:
            return
        if isinstance(creation.statement, cst.With):
            # Closed on every path already; the project may manage its transactions itself,
            # and a commit added after `yield` would move their boundary. Not leaky.
            return
        name, call = creation.name, creation.call
        calls = method_calls_on(nodes, name)
        if calls & {"rollback", "begin", "begin_nested"}:
            return  # it already manages its transaction
        message = (
            f"`{function.name.value}` only closes its session: no commit on success, "
            "no rollback on error"
        )
        kind, unknown = self.factory(call.func)
        reason: str | None = None
        if "commit" in calls:
            message = f"`{function.name.value}` commits its session but never rolls it back"
            reason = "it commits by hand; where commit and rollback go needs review"
        elif kind is None:
            reason = unknown
        elif kind == "async" and function.asynchronous is None:
            reason = "an async session in a sync def"
        else:
            reason = self._shape_refusal(function, creation, kind)
        if reason is None and self.exception_shadowed(function):
            reason = "the name `Exception` is rebound in this module"
        if reason is None and self.options.commit_on_exit:
            timing = missing(self.run.config, FASTAPI_EXIT_BEFORE_RESPONSE, self.run.path)
            if timing is not None:
                reason = (
                    f"{timing}: a failing commit would not reach the client; commit in the "
                    "endpoint, or set [tool.asyncfix.db_session] commit-on-exit = false"
                )
        new: list[cst.BaseStatement] = []
        if reason is None and kind is not None:
            new = self._scope_body(function, creation, kind)
            if loses_comments(self._own_statements(function), new):
                reason = "a comment inside the session code would be lost"
        if reason is not None:
            self.report(function.name, "AF401", message, reason=reason)
        elif self.report(function.name, "AF401", message):
            self._scopes[function] = new
            self._drop_annotation(creation.statement)

    def _drop_annotation(self, statement: cst.CSTNode) -> None:
        """`db: AsyncSession = F()` becomes `with F() as db`: the annotation's import goes
        when nothing else uses it."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return
        assign = statement.body[0]
        if not isinstance(assign, cst.AnnAssign):
            return
        for name in m.findall(assign.annotation, m.Name()):
            scope = self.get_metadata(ScopeProvider, name, None)
            if scope is not None:
                remove_import_if_unused(self.context, scope, name)

    def _own_statements(self, function: cst.FunctionDef) -> list[cst.BaseStatement]:
        """The function's statements, less a factory AF402 moves out."""
        hoisted = self._hoist.get(function)
        return [s for s in body_statements(function) if hoisted is None or s is not hoisted[0]]

    def _creation(self, nodes: list[cst.CSTNode], *, yielded_only: bool) -> Creation | None:
        """The session the function makes with `name = F()` or `with F() as name` (and
        yields, when `yielded_only`), if F looks like a session factory."""
        yielded = {
            n.value.value
            for n in nodes
            if isinstance(n, cst.Yield) and isinstance(n.value, cst.Name)
        }
        for node in nodes:
            if isinstance(node, cst.SimpleStatementLine):
                assigned = single_assign(node)
                if (
                    assigned
                    and (assigned[0] in yielded or not yielded_only)
                    and self._session_like(assigned[1])
                ):
                    return Creation(assigned[0], assigned[1], node)
            elif isinstance(node, cst.With):
                for item in node.items:
                    if (
                        item.asname is not None
                        and isinstance(item.asname.name, cst.Name)
                        and item.asname.name.value in yielded
                        and isinstance(item.item, cst.Call)
                        and self._session_like(item.item)
                    ):
                        return Creation(item.asname.name.value, item.item, node)
        return None

    def _session_like(self, call: cst.Call) -> bool:
        """Is `call` meant to make a session? Provably, or by its name, or because the name
        is bound to some sessionmaker(...) call (enough to report, not to rewrite)."""
        if m.matches(call.func, m.Attribute(attr=m.Name(BEGIN))):
            return False  # `Factory.begin()` is already a transactional scope
        kind, _ = self.factory(call.func)
        if kind is not None:
            return True
        scope = self.get_metadata(ScopeProvider, call.func, None)
        if isinstance(call.func, cst.Name) and scope is not None:
            if call.func.value in (self.planned or {}):
                return True  # made by a sessionmaker in the module it is imported from
            for assignment in scope[call.func.value]:
                made = self.assigned_call(assignment_node(assignment))
                if made is not None and self._is_factory_call(made):
                    return True
        # A name that says "session" is evidence only in a module that uses SQLAlchemy or
        # SQLModel, and never for another library's session (aiohttp.ClientSession).
        return (
            SESSION_WORD in code_of(call.func).lower()
            and self._uses_sql()
            and not any(n.split(".")[0] in OTHER_SESSIONS for n in self.qnames(call.func))
        )

    def _uses_sql(self) -> bool:
        if self._sql is None:
            module = self._module
            self._sql = module is not None and any(
                name.split(".")[0] in SQL_LIBRARIES
                for node in m.findall(module, m.Import() | m.ImportFrom())
                for name in imported_modules(node)
            )
        return self._sql

    def _shape_refusal(
        self, function: cst.FunctionDef, creation: Creation, kind: Kind
    ) -> str | None:
        """None when the body is exactly open-yield-close in one of the two known shapes."""
        name = creation.name
        if not isinstance(function.body, cst.IndentedBlock):
            return "the function body is on one line"
        _, body = docstring_split(self._own_statements(function))
        if sum(type(n) is cst.Yield for n in self.own_nodes(function)) != 1:
            return "the function yields more than once"
        if not body or body[0] is not creation.statement:
            return "the function does something else before it opens the session"
        closing: Sequence[cst.BaseStatement] = []
        if isinstance(creation.statement, cst.With):
            with_node = creation.statement
            if len(with_node.items) != 1:
                return "the `with` statement manages more than the session"
            if (with_node.asynchronous is not None) != (kind == "async"):
                return "`with` or `async with` does not match the session's kind"
            inner = block_lines(with_node.body)
            expected = 1
        else:
            if len(body) < 2 or not isinstance(body[1], cst.Try):
                return "the session is not opened right before a `try: ... finally: close()`"
            tried = body[1]
            if tried.handlers or tried.orelse is not None:
                return "the `try` already handles exceptions"
            if tried.finalbody is None:
                return "the session is not closed in a `finally`"
            inner = block_lines(tried.body)
            closing = block_lines(tried.finalbody.body)
            if not closing or not close_call(closing[0], name, kind):
                close = f"await {name}.close()" if kind == "async" else f"{name}.close()"
                return f"the `finally` does not just `{close}`"
            expected = 2
        if not inner or not yields_name(inner[0], name):
            return "the yield is inside another block, or is not a plain `yield " + name + "`"
        if len(inner) > 1:
            used = any(m.findall(stmt, m.Name(name)) for stmt in inner[1:])
            return "the session is used after the yield" if used else "code runs after the yield"
        if len(closing) > 1:
            return "the `finally` does more than close the session"
        if len(body) > expected:
            return "the function does more after the session is closed"
        return None

    def _scope_body(
        self, function: cst.FunctionDef, creation: Creation, kind: Kind
    ) -> list[cst.BaseStatement]:
        docstring, body = docstring_split(self._own_statements(function))
        config = self.parser_config()
        try_header: cst.TrailingWhitespace | None = None
        if isinstance(creation.statement, cst.With):
            with_node = creation.statement
            yield_stmt = block_lines(with_node.body)[0]
        else:
            assert isinstance(creation.statement, cst.SimpleStatementLine)
            with_node = with_statement(creation.call, creation.name, kind, config)
            tried = body[1]
            assert isinstance(tried, cst.Try) and isinstance(with_node.body, cst.IndentedBlock)
            # `db = F()  # note` -> `with F() as db:  # note`; `try:  # x` stays `try:  # x`
            with_node = with_node.with_changes(
                leading_lines=creation.statement.leading_lines,
                body=with_node.body.with_changes(header=creation.statement.trailing_whitespace),
            )
            yield_stmt = block_lines(tried.body)[0]
            if isinstance(tried.body, cst.IndentedBlock):
                try_header = tried.body.header
        scope = transactional_with(
            with_node,
            creation.name,
            kind,
            yield_stmt,
            self.options.commit_on_exit,
            config,
            try_header,
        )
        return [*docstring, scope]
