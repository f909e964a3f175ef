"""SessionCodemod: AF401, AF402 and AF403 in one pass, and the prescreen for them."""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import libcst as cst

from asyncfix.codemods.base import function_defs
from asyncfix.codemods.db_session._shared import body_statements
from asyncfix.codemods.db_session.hoist import AF402
from asyncfix.codemods.db_session.plan import imported_factories
from asyncfix.codemods.db_session.scope import AF401
from asyncfix.codemods.db_session.screen import (
    DEPENDS_TAILS,
    MAKER_TAILS,
    SESSION_TAILS,
    Names,
    says_session,
    screen_facts,
)
from asyncfix.codemods.db_session.shapes import leading_empties
from asyncfix.codemods.db_session.twin import AF403, TwinPass
from asyncfix.config import Config

if TYPE_CHECKING:
    from asyncfix.index import ProjectIndex


def _session_sites(tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
    """Could SessionCodemod (AF401-AF403) change or report anything in this module?"""
    hoist, scope, twin = ("AF402" in enabled, "AF401" in enabled, "AF403" in enabled)
    if plan:
        # It imports a session factory from the project.
        return (hoist or scope or twin) and screen_facts(tree).shapes
    # Every site names a session, a Session class or a sessionmaker somewhere.
    if b"session" not in source.lower():
        return False
    hoist = hoist and b"essionmaker" in source
    sites = twin and (b"Session" in source or b"essionmaker" in source)
    scope = scope and b"yield" in source
    handed = twin and b"add_task" in source and b"Depends" in source
    if not (hoist or sites or scope or handed):
        return False
    facts = screen_facts(tree)
    if not facts.shapes:
        return False
    makers = Names(facts, MAKER_TAILS)
    # Names bound to a sessionmaker(...): factory() and _session_like() follow them.
    factories = {
        target.id
        for target, call in facts.made
        if isinstance(target, ast.Name) and makers.may_name(call.func)
    }
    sessions = Names(facts, SESSION_TAILS)

    def factory(func: ast.expr) -> bool:
        return sessions.may_name(func) or (isinstance(func, ast.Name) and func.id in factories)

    def session_like(call: ast.Call) -> bool:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "begin":
            return False
        return factory(call.func) or says_session(call)

    for function, own in facts.functions.items():
        if hoist and any(makers.may_name(call.func) for call in own.calls):
            return True  # AF402: a factory built in a function
        if sites and any(
            isinstance(stmt, ast.Assign | ast.AnnAssign)
            and isinstance(stmt.value, ast.Call)
            and factory(stmt.value.func)
            for stmt in function.body
        ):
            return True  # AF403: `db = Factory()` opened by hand
        if scope and any(
            isinstance(target, ast.Name) and target.id in own.yielded and session_like(call)
            for target, call in own.made
        ):
            return True  # AF401: a dependency that yields the session it makes
    # AF403: a session parameter (Depends) handed to BackgroundTasks.add_task().
    depends = Names(facts, DEPENDS_TAILS)
    return (
        handed
        and any(
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "add_task"
            and any(
                isinstance(arg.value if isinstance(arg, ast.Starred) else arg, ast.Name)
                for arg in [*call.args, *(k.value for k in call.keywords)]
            )
            for call in facts.calls
        )
        and any(depends.may_name(call.func) for call in facts.calls)
    )


class SessionCodemod(TwinPass):
    """AF402, AF401 and AF403 in ONE pass. Every decision is taken in visit_Module, on the
    tree as given (so findings point at the lines as written), and applied on the way out.
    The deciding is split by rule over the classes it derives from (hoist, scope, twin)."""

    NAME = "db-session"
    RULES = (AF401, AF402, AF403)
    # After `awaits` (which runs after every plain codemod): AF501 may await a forgotten
    # `db.close()`, which makes the function AF401's pattern; seeing it in the same run
    # keeps the pipeline idempotent.
    AFTER = ("*", "awaits")
    TRIGGERS = (b"ession",)
    # ...and at least one of these: a yield, a close(), add_task(), or a sessionmaker.
    _ANY_OF = (b"yield", b"close", b"add_task", b"essionmaker")

    @classmethod
    def may_match(cls, data: bytes) -> bool:
        return super().may_match(data) and any(token in data for token in cls._ANY_OF)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return imported_factories(index)

    @classmethod
    def acts_on(cls, tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
        return _session_sites(tree, source, plan, enabled)

    def visit_Module(self, node: cst.Module) -> bool:
        functions = function_defs(node)
        if self.enabled("AF402"):
            for function in functions:
                self._plan_hoist(function)
        if self.enabled("AF401"):
            for function in functions:
                self._plan_scope(function)
        if self.enabled("AF403"):
            self._plan_twin(node, functions)
            self._report_background_tasks(functions)
        return True

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.FlattenSentinel[cst.BaseStatement]:
        before: list[cst.BaseStatement] = []
        after: list[cst.BaseStatement] = []
        function = updated_node
        if original_node in self._scopes:
            function = function.with_changes(
                body=function.body.with_changes(body=self._scopes[original_node])
            )
        elif original_node in self._hoist or original_node in self._sites:
            assert isinstance(function.body, cst.IndentedBlock)
            hoisted = self._hoist.get(original_node)
            sites = self._sites.get(original_node, {})
            body: list[cst.BaseStatement] = []
            skip = False
            for original, updated in zip(
                body_statements(original_node), function.body.body, strict=True
            ):
                if skip:
                    skip = False
                elif hoisted is not None and original is hoisted[0]:
                    pass
                elif original in sites:
                    body.append(sites[original])
                    skip = True  # the `try` it replaces
                else:
                    body.append(updated)
            function = function.with_changes(body=function.body.with_changes(body=body))
        if original_node in self._hoist:
            # The factory goes right above the function, after its blank lines; comments
            # above the def stay with the def, the statement's own comments go with it.
            _, statement = self._hoist[original_node]
            empties, comments = leading_empties(function.leading_lines)
            _, own_comments = leading_empties(statement.leading_lines)
            before.append(statement.with_changes(leading_lines=[*empties, *own_comments]))
            function = function.with_changes(leading_lines=[*empties, *comments])
        if self._twin is not None and self._twin.dependency is original_node:
            assert self._twin.node is not None
            empties, _ = leading_empties(original_node.leading_lines)
            after.append(
                self._twin.node.with_changes(leading_lines=empties or [cst.EmptyLine()] * 2)
            )
        if not before and not after:
            return function
        return cst.FlattenSentinel([*before, function, *after])
