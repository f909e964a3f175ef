"""AF402: a session factory built on every call moves to module level."""

from __future__ import annotations

import builtins
from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
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
from asyncfix.codemods.db_session._shared import (
    DbCodemod,
    assignment_node,
    body_statements,
    bound_in,
)
from asyncfix.codemods.db_session.names import ASYNC_SESSIONMAKERS, BEGIN, SESSIONMAKERS, Kind
from asyncfix.codemods.db_session.shapes import single_assign

AF402 = Rule(
    code="AF402",
    name="session-factory-per-call",
    summary="sessionmaker built on every call -> module level, created once",
    why=(
        "A sessionmaker built inside a dependency is rebuilt for every request; async "
        "factories left with expire_on_commit=True expire every object at commit, so the "
        "next attribute access does implicit I/O, which fails under asyncio."
    ),
    fix=(
        "The factory moves to module level, just above the function, under the same name; "
        "async factories get expire_on_commit=False. Not hoisted: a factory whose arguments "
        "use names that exist only in the function (a per-call engine), or call anything."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "from app.config import engine\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    SessionLocal = async_sessionmaker(engine)\n"
        "    async with SessionLocal() as db:\n"
        "        yield db\n"
    ),
    after=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "from app.config import engine\n"
        "\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        yield db\n"
    ),
)


class HoistPass(DbCodemod):
    """AF402, the first part of SessionCodemod: which session factories built in a function
    move to module level. Later parts ask `hoisted_kind()` what a moved factory makes."""

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context, run)
        # function -> (the statement building the factory, its module-level form)
        self._hoist: dict[
            cst.FunctionDef, tuple[cst.SimpleStatementLine, cst.SimpleStatementLine]
        ] = {}
        self._hoisted: dict[str, tuple[cst.FunctionDef, Kind | None]] = {}

    def hoisted_kind(self, name: str, function: cst.CSTNode) -> Kind | None:
        hoisted = self._hoisted.get(name)
        return hoisted[1] if hoisted is not None and hoisted[0] is function else None

    def _is_factory_call(self, node: cst.CSTNode) -> bool:
        return (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name | cst.Attribute)
            and bool(self.qnames(node.func) & (SESSIONMAKERS | ASYNC_SESSIONMAKERS))
        )

    def _plan_hoist(self, function: cst.FunctionDef) -> None:
        handled: set[cst.CSTNode] = set()
        for stmt in body_statements(function):
            assigned = single_assign(stmt)
            if not assigned or not self._is_factory_call(assigned[1]):
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            name, call = assigned
            handled.add(call)
            message = f"session factory `{name}` is built on every call of `{function.name.value}`"
            reason = self._hoist_refusal(function, stmt, name, call)
            if reason is not None:
                self.report(call, "AF402", message, reason=reason)
            elif self.report(call, "AF402", message + "; hoisted to module level"):
                self._hoist[function] = (stmt, self._hoisted_statement(stmt, call))
                self._hoisted[name] = (function, self.sessionmaker_kind(call))
        for node in self.own_nodes(function):
            if node not in handled and self._is_factory_call(node):
                self.report(
                    node,
                    "AF402",
                    f"session factory built on every call of `{function.name.value}`",
                    reason="not a plain `name = sessionmaker(...)` statement of the function body",
                )

    def _hoist_refusal(
        self, function: cst.FunctionDef, stmt: cst.SimpleStatementLine, name: str, call: cst.Call
    ) -> str | None:
        if function in self._hoist:
            return "a second session factory in the same function"
        if not isinstance(self.get_metadata(ParentNodeProvider, function, None), cst.Module):
            return "the function is not defined at module level"
        if not isinstance(stmt.body[0], cst.Assign):
            return "an annotated assignment; hoist it by hand"
        body = list(body_statements(function))
        if len(body) < 2:
            return "the factory is the whole body of the function"
        scope = self.get_metadata(ScopeProvider, call, None)
        if scope is None:
            return "cannot resolve its names"
        if bound_in(scope.globals, name) or name in self._hoisted:
            return f"the name `{name}` is already used at module level"
        if len(list(scope[name])) != 1:
            return f"`{name}` is assigned more than once in the function"
        for earlier in body[: body.index(stmt)]:
            if m.findall(earlier, m.Name(name)):
                return f"`{name}` is used before the factory is built"
        # Shared once hoisted: the function may only call it (or `.begin()`), not
        # reconfigure it or hand it out.
        target = stmt.body[0].targets[0].target
        for later in body[body.index(stmt) :]:
            for ref in m.findall(later, m.Name(name)):
                if ref is target:
                    continue
                parent = self.get_metadata(ParentNodeProvider, ref, None)
                if isinstance(parent, cst.Call) and parent.func is ref:
                    continue
                if isinstance(parent, cst.Attribute) and m.matches(parent.attr, m.Name(BEGIN)):
                    continue
                return f"the function uses `{name}` for more than making sessions"
        for inner in m.findall(call, m.Call() | m.Lambda() | m.Await() | m.Yield()):
            if inner is not call:
                return "its arguments compute something on every call"
        if any(arg.star for arg in call.args):
            return "its arguments are unpacked at call time"
        for ref in self._free_names(call):
            problem = self._module_level_before(ref, function)
            if problem is not None:
                return problem
        return None

    def _free_names(self, call: cst.Call) -> Iterator[cst.Name]:
        for expr in [call.func, *(arg.value for arg in call.args)]:
            for node in m.findall(expr, m.Name()):
                assert isinstance(node, cst.Name)
                parent = self.get_metadata(ParentNodeProvider, node, None)
                if isinstance(parent, cst.Attribute) and parent.attr is node:
                    continue  # `settings.url`: only `settings` is a name
                yield node

    def _module_level_before(self, ref: cst.Name, function: cst.FunctionDef) -> str | None:
        """None when `ref` is a builtin or a name bound only by plain module-level statements
        above `function`: then it is bound when the hoisted factory is built."""
        if ref.value in {"True", "False", "None"}:
            return None
        scope = self.get_metadata(ScopeProvider, ref, None)
        if scope is None:
            return f"cannot resolve `{ref.value}`"
        assignments = [a for a in scope[ref.value] if not isinstance(a, BuiltinAssignment)]
        if not assignments:
            if hasattr(builtins, ref.value):
                return None
            return f"`{ref.value}` is not defined in this module"
        assert self._module is not None
        toplevel = {id(stmt): i for i, stmt in enumerate(self._module.body)}
        limit = toplevel.get(id(function))
        for assignment in assignments:
            if not isinstance(assignment.scope, GlobalScope):
                return f"`{ref.value}` exists only inside the function, not at module level"
            statement = self._toplevel_statement(assignment_node(assignment))
            index = toplevel.get(id(statement)) if statement is not None else None
            if index is None:
                return f"`{ref.value}` is also bound in a block or a function (`global`)"
            if limit is None or index >= limit:
                return f"`{ref.value}` is bound at module level only below the function"
        return None

    def _toplevel_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The module-level simple statement (or import) that binds `node`, if it is one."""
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(parent, cst.Module):
                return current if isinstance(current, cst.SimpleStatementLine) else None
            if isinstance(parent, cst.BaseCompoundStatement):
                return None
            current = parent
        return None

    def _hoisted_statement(
        self, stmt: cst.SimpleStatementLine, call: cst.Call
    ) -> cst.SimpleStatementLine:
        if self.sessionmaker_kind(call) == "async" and not any(
            a.keyword is not None and a.keyword.value == "expire_on_commit" for a in call.args
        ):
            call = call.with_changes(args=_append_keyword(call, "expire_on_commit", "False"))
        assign = stmt.body[0]
        assert isinstance(assign, cst.Assign)
        return stmt.with_changes(body=[assign.with_changes(value=call)])


def _append_keyword(call: cst.Call, keyword: str, value: str) -> list[cst.Arg]:
    """`call`'s arguments plus `keyword=value`, laid out like the others: on its own line
    in a call written one argument per line, a trailing comma kept where there was one."""
    args = list(call.args)
    new = cst.Arg(
        keyword=cst.Name(keyword),
        value=cst.Name(value),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    if not args:
        return [new]
    last = args[-1]
    # The space between two arguments: as after the one before last, else as before the first.
    between: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
    if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
        between = args[-2].comma.whitespace_after
    elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        between = call.whitespace_before_args
    if isinstance(last.comma, cst.Comma):
        # `a,\n)`: the new argument takes the trailing comma and the space before `)`.
        new = new.with_changes(
            comma=last.comma.with_changes(whitespace_before=cst.SimpleWhitespace(""))
        )
        last = last.with_changes(comma=cst.Comma(whitespace_after=between))
    else:
        # `a\n)`: the space before `)` moves after the new argument.
        new = new.with_changes(whitespace_after_arg=last.whitespace_after_arg)
        last = last.with_changes(
            comma=cst.Comma(whitespace_after=between),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
    return [*args[:-1], last, new]
