"""SessionCodemod: AF401, AF402 and AF403 in one pass (its prescreen is in `screen`)."""

from __future__ import annotations

import libcst as cst

from asyncfix.codemods.base import function_defs
from asyncfix.codemods.db_session._shared import body_statements
from asyncfix.codemods.db_session.hoist import AF402
from asyncfix.codemods.db_session.names import SESSION_PASS, SESSION_TOKEN, START_TOKENS
from asyncfix.codemods.db_session.plan import session_plan
from asyncfix.codemods.db_session.scope import AF401
from asyncfix.codemods.db_session.screen import screen_session
from asyncfix.codemods.db_session.shapes import leading_empties
from asyncfix.codemods.db_session.twin import AF403, TwinPass


class SessionCodemod(TwinPass):
    """AF402, AF401 and AF403 in ONE pass. Every decision is taken in visit_Module, on the
    tree as given (so findings point at the lines as written), and applied on the way out.
    The deciding is split by rule over the classes it derives from (hoist, scope, twin)."""

    NAME = SESSION_PASS
    RULES = (AF401, AF402, AF403)
    # After `awaits` (which runs after every plain codemod): AF501 may await a forgotten
    # `db.close()`, which makes the function AF401's pattern; seeing it in the same run
    # keeps the pipeline idempotent.
    AFTER = ("*", "awaits")
    TRIGGERS = (SESSION_TOKEN,)
    # ...and one of a yield, a close(), add_task(), or a sessionmaker.
    TRIGGERS_ANY = START_TOKENS
    SCREEN = staticmethod(screen_session)
    PLANNER = staticmethod(session_plan)

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
