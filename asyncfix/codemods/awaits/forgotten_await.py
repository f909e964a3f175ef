"""AF501: a coroutine called without await."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import FunctionScope, GlobalScope, ParentNodeProvider, Scope, ScopeProvider

from asyncfix.codemods.awaits._shared import FORGOTTEN_AWAIT, result_attribute
from asyncfix.codemods.awaits.dropped_task import AF502, DroppedTask
from asyncfix.codemods.awaits.plan import project_plan
from asyncfix.codemods.awaits.screen import has_candidate, screen_forgotten_await, screened
from asyncfix.codemods.awaits.table_words import CLASS_TOKENS
from asyncfix.codemods.base import Rule
from asyncfix.codemods.helpers import inside_sync_lock, is_primary_operand, loop_context, make_await
from asyncfix.codemods.shared.async_def_plan import planned_for
from asyncfix.config import Config
from asyncfix.data import coroutines as table
from asyncfix.index import ProjectIndex

AF501 = Rule(
    code="AF501",
    name="forgotten-await",
    summary="a coroutine called without await -> await inserted",
    why=(
        "Calling an async function only creates a coroutine object; without `await` its "
        "body never runs (`db.commit()` commits nothing) and Python warns 'coroutine was "
        "never awaited' only at garbage collection, if at all."
    ),
    fix=(
        "`await` is inserted where the coroutine's value is dropped (an expression "
        "statement) or used as if it were the result (attribute access, indexing, "
        "iteration, or a name only used that way). Only calls proven to return a "
        "coroutine: the project's own async defs and the library methods in asyncfix's "
        "generated table (AsyncSession.add is not one). Values handed to create_task, "
        "gather, wait, returned or stored are left alone. In a sync def, a lambda or a "
        "generator expression an await is impossible: a finding instead."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "\n"
        "\n"
        "async def save(db: AsyncSession, user):\n"
        "    db.add(user)\n"
        "    db.commit()\n"
    ),
    after=(
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "\n"
        "\n"
        "async def save(db: AsyncSession, user):\n"
        "    db.add(user)\n"
        "    await db.commit()\n"
    ),
)


class ForgottenAwait(DroppedTask):
    """AF501 in `leave_Call`, and AF502 through `DroppedTask` (one walk for both)."""

    NAME = FORGOTTEN_AWAIT
    FAMILY = "awaits"
    RULES = (AF501, AF502)
    IN_TESTS = True  # a forgotten await or a dropped task is a bug in tests too
    AFTER = ("*",)
    TRIGGERS = (b"async",)
    PLAN_COST = 0.14
    INDEXES = (b"async def", *CLASS_TOKENS)  # the project's coroutines, library clients
    PLAN_REACH = (b"async",)  # (entries only for its consumers: index.naming(heads, b"async"))
    METADATA_DEPENDENCIES = (ScopeProvider, ParentNodeProvider)
    SCREEN = staticmethod(screen_forgotten_await)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return project_plan(index)

    def transform(self, module: cst.Module) -> cst.Module:
        # The screen is `has_candidate`, on the stdlib ast: a libcst walk costs ~10x more.
        # The driver's ast of the file, unless an earlier codemod rewrote it.
        tree = self.run.parsed_ast if module is self.run.original else None
        if module is not self.run.original and module.encoding == "utf-8":
            tree = self.run.tree_of(module)  # (parsed once for every screen of this tree)
        found = screened(self.run.path, self.run.bytes_of(module), self.planned, tree)
        if found is None:
            return module
        self.info, self.facts, tree = found
        self._af601: Mapping[str, Any] | None = None
        if not has_candidate(self.info, self.facts, tree):
            return module  # no metadata resolved: the common case, and the costly part
        return super().transform(module)

    def coroutine_kind(self, call: cst.Call) -> tuple[str, str] | None:
        """("coroutine" | "future", display name) when the call certainly returns one;
        ("ambiguous", ...) for a project method that another class overrides with a def;
        ("overridden", ...) for a library method that a project subclass may override."""
        qualified = self._qualified(call.func)
        if qualified is not None:
            if qualified in table.FUNCTIONS or qualified in self.facts.coroutines:
                return "coroutine", qualified
            if "." not in qualified.removeprefix(self.info.name + "."):
                return None
        if isinstance(call.func, cst.Attribute):
            receiver = self.type_of(call.func.value)
            method = call.func.attr.value
            if receiver is None:
                return None
            if receiver in table.CLASSES:
                kinds = table.CLASSES[receiver]
                short = receiver.rsplit(".", 1)[-1]
                for kind in ("coroutine", "future"):
                    if method in kinds[kind]:
                        return kind, f"{short}.{method}"
            elif f"{receiver}.{method}" in self.facts.coroutines:
                kind = "ambiguous" if method in self.facts.ambiguous else "coroutine"
                return kind, f"{receiver.rsplit('.', 1)[-1]}.{method}"
            elif receiver in self.facts.inherited:
                # A project subclass of a library class (a beanie Document) that does not
                # define the method itself: the library's, unless a subclass overrides it.
                library = self.facts.inherited[receiver]
                own = method in self.facts.defines.get(receiver, ())
                if not own and method in table.SUBCLASSED[library]["coroutine"]:
                    overridden = method in self.facts.overridden.get(library, ())
                    kind = "overridden" if overridden else "coroutine"
                    return kind, f"{receiver.rsplit('.', 1)[-1]}.{method}"
        return None

    # -- the rewrite ---------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if isinstance(parent, cst.Expr) and self._dropped_task(original_node):
            return updated_node
        usage = self._usage(original_node, parent)
        if usage is None:
            return updated_node
        found = self.coroutine_kind(original_node)
        if found is None:
            return updated_node
        kind, name = found
        if usage == "dropped" and self._becomes_def(original_node):
            return updated_node  # AF601 turns the callee into a def: the call just runs
        code = cst.Module([]).code_for_node(original_node.func)
        if usage == "dropped":
            message = f"`{code}()` returns a coroutine that is never awaited: its work never runs"
        else:
            message = f"`{code}()` returns a coroutine, used here as if it were its result"
        if kind == "future":
            # Motor: the operation runs anyway, but nothing waits for it and its errors
            # are lost; its type stubs declare a coroutine, and awaiting is the fix.
            message = (
                f"`{code}()` returns an asyncio Future that is never awaited: nothing waits "
                "for it and its errors are lost"
            )
        reason = self._refusal(original_node)
        if kind == "ambiguous":
            reason = (
                f"{name} is async, but another class defines {name.rsplit('.', 1)[-1]}() "
                "as a def: which one runs depends on the instance"
            )
        if kind == "overridden":
            reason = (
                f"{name} is async in the library, but a class of the project defines "
                f"{name.rsplit('.', 1)[-1]}(): which one runs depends on the instance"
            )
        if reason is not None:
            self.report(original_node, "AF501", message, reason=reason)
            return updated_node
        if not self.report(original_node, "AF501", message + "; await it"):
            return updated_node
        return make_await(updated_node, as_primary=is_primary_operand(parent, original_node))

    def _becomes_def(self, call: cst.Call) -> bool:
        """Is this dropped call one that AF601's plan leaves as it is, callee made a def?"""
        if not self.enabled("AF601"):
            return False
        if self._af601 is None:
            self._af601 = planned_for(self.run)
        dotted = get_full_name_for_node(call.func)
        if dotted in self._af601["dropped"] and self._global_head(call.func):
            return True
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner = self._self_class(func.value)
            for class_name, method in self._af601["dropped_methods"]:
                if method == func.attr.value and owner == f"{self.info.name}.{class_name}":
                    return True
        return False

    def _usage(self, call: cst.Call, parent: cst.CSTNode | None) -> str | None:
        """ "dropped", "result", or None when the coroutine is handed on (or awaited)."""
        if isinstance(parent, cst.Expr):
            return "dropped"
        if self._used_as_result(call, parent):
            return "result"
        if isinstance(parent, cst.Assign) and parent.value is call and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                return self._name_used_as_result(target)
        return None

    def _used_as_result(self, node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return result_attribute(parent.attr.value)
        if isinstance(parent, cst.Subscript) and parent.value is node:
            return True
        return isinstance(parent, cst.For | cst.CompFor) and parent.iter is node

    def _name_used_as_result(self, target: cst.Name) -> str | None:
        assignment = self._single_assignment(target)
        if assignment is None or assignment.node is not target:
            return None
        if not isinstance(assignment.scope, FunctionScope):
            return None
        references = list(assignment.references)
        if not references:
            return None
        for access in references:
            parent = self.get_metadata(ParentNodeProvider, access.node, None)
            if not self._used_as_result(access.node, parent) and not _truth_tested(
                access.node, parent
            ):
                return None
        return "result"

    def _refusal(self, call: cst.Call) -> str | None:
        scope = self.get_metadata(ScopeProvider, call, None)
        where = loop_context(scope)
        if where.in_generator_expression:
            return "inside a generator expression an await would make it an async generator"
        if where.function is None:
            return self._not_async_reason(scope)
        if inside_sync_lock(self._statements, where.function):
            return "awaiting while a thread lock is held can deadlock the event loop"
        return None

    @staticmethod
    def _not_async_reason(scope: Scope | None) -> str:
        while scope is not None and not isinstance(scope, FunctionScope | GlobalScope):
            scope = scope.parent
        if isinstance(scope, FunctionScope) and isinstance(scope.node, cst.Lambda):
            return "inside a lambda it cannot be awaited"
        if isinstance(scope, FunctionScope):
            return (
                "inside a sync def it cannot be awaited: make the function async, or "
                "run the coroutine from async code"
            )
        return "outside any function it cannot be awaited"


def _truth_tested(node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    """`if x:`, `while x:`, `a if x else b`, `assert x`, `not x`: a coroutine is always
    true, so the test means the result (`if existing:` after `existing = find_one(...)`)."""
    if isinstance(parent, cst.If | cst.While | cst.IfExp | cst.Assert):
        return parent.test is node
    return (
        isinstance(parent, cst.UnaryOperation)
        and isinstance(parent.operator, cst.Not)
        and parent.expression is node
    )
