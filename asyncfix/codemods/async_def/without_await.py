"""AF601: an `async def` that never awaits becomes a plain `def`, and its callers stop
awaiting it (the decision is the plan's, in `asyncfix.codemods.shared.async_def_plan`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import FunctionScope, GlobalScope, MetadataWrapper, ScopeProvider

from asyncfix.codemods.async_def.screen import screen_async_def
from asyncfix.codemods.base import (
    AsyncfixCodemod,
    Rule,
)
from asyncfix.codemods.shared.async_def_facts import ASYNC_DEF, awaits_in, closed_world
from asyncfix.codemods.shared.async_def_plan import (
    PLAN_NAME,
    planned_for,
    project_plan,
    wanted,
)
from asyncfix.config import Config
from asyncfix.index import ProjectIndex

AF601 = Rule(
    code="AF601",
    name="async-without-await",
    summary="async def that never awaits -> def, and `await f()` -> `f()` everywhere",
    why=(
        "An async def that never awaits pays for a coroutine object and an event-loop "
        "round trip on every call, and tells readers it does I/O when it does not. "
        "Not for FastAPI: a path operation, dependency, lifespan or event handler declared "
        "`def` is sent to the thread pool, so there an async def without I/O is the faster "
        "form; asyncfix leaves those alone."
    ),
    fix=(
        "`async def` becomes `def` and every `await f(...)` in the project becomes "
        "`f(...)`, in one plan across files: only when every use of the function is such "
        "a call (not passed as a callback, stored, scheduled or patched by name), its name "
        "is private (public names too with `[tool.asyncfix.async_def] closed-world = "
        "true`), it is not decorated (staticmethod and classmethod are fine), overrides "
        "and is overridden by nothing, is not a pytest test, and its body calls only "
        "builtins and plain str/list/dict methods (a function calling anything else "
        "may block, which no def cures, or become awaited after another fix: left "
        "alone). Otherwise a finding says why."
    ),
    before=(
        "async def _greeting(name):\n"
        '    return f"Hello, {name.title()}"\n'
        "\n"
        "\n"
        "async def welcome(user, send):\n"
        "    await send(await _greeting(user.name))\n"
    ),
    after=(
        "def _greeting(name):\n"
        '    return f"Hello, {name.title()}"\n'
        "\n"
        "\n"
        "async def welcome(user, send):\n"
        "    await send(_greeting(user.name))\n"
    ),
)


class AsyncWithoutAwait(AsyncfixCodemod):
    NAME = PLAN_NAME
    FAMILY = "async_def"
    RULES = (AF601,)
    # In test code it converts no def (see Planner._silent), but un-awaits the calls of
    # those it converts elsewhere: the tests must follow, or they would await a plain value.
    IN_TESTS = True
    # After the families that add awaits and the session scopes: its re-check sees them.
    AFTER = ("*", "awaits", "db-session")
    TRIGGERS = (ASYNC_DEF,)
    PLAN_COST = 0.15
    INDEXES = (ASYNC_DEF,)  # the candidates
    # Entries for the candidates' modules, and for their call sites only when the
    # candidate's module is given too (Planner._judge_files refuses it otherwise).
    PLAN_REACH = (ASYNC_DEF,)
    # Everything it does is in the plan for the file, or what the file alone decides.
    # (annotated: mypy reads a bare staticmethod as the base class's bound Callable)
    SCREEN = staticmethod(screen_async_def)
    METADATA_DEPENDENCIES = (ScopeProvider,)

    @classmethod
    def check_config(cls, config: Config) -> None:
        closed_world(config)

    @classmethod
    def plan(
        cls, index: ProjectIndex, config: Config, enabled: Collection[str] | None = None
    ) -> Mapping[str, Any] | None:
        # (a function of a module without libcst: a plan can be made without this class)
        return project_plan(index, config, enabled)

    def transform(self, module: cst.Module) -> cst.Module:
        # Not planned: what this file's ORIGINAL code decides on its own, exactly what the
        # plan phase compared against (or, without a plan phase, the file alone).
        plan = planned_for(self.run)
        self.plan_data: Mapping[str, Any] = plan
        if not wanted(plan):
            return module
        self.class_stack: list[str] = []
        self.function_stack: list[cst.FunctionDef] = []
        return super().transform(module)

    @contextmanager
    def resolve(self, wrapper: MetadataWrapper) -> Iterator[None]:
        # Scopes only tell the call sites to un-await (`_planned_site`): a file with none,
        # where only definitions are converted or reported, skips the scope analysis.
        if self.plan_data["names"] or self.plan_data["methods"]:
            with super().resolve(wrapper):
                yield
        else:
            yield

    # -- definitions ---------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_stack.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.class_stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.function_stack.append(node)
        # Without call sites to un-await, nothing inside a function is ever changed or
        # reported (a nested def is no target): its body need not be walked.
        return bool(self.plan_data["names"] or self.plan_data["methods"])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.function_stack.pop()
        key = self._key(original_node)
        if key is None or original_node.asynchronous is None:
            return updated_node
        message = f"async def {original_node.name.value}() never awaits"
        reason = self.plan_data["refuse"].get(key)
        if reason is not None:
            if not awaits_in(updated_node):  # else another fix made it await: resolved
                self.report(original_node.name, "AF601", message, reason=reason)
            return updated_node
        if key not in self.plan_data["convert"]:
            return updated_node
        if awaits_in(updated_node):
            # The plan ruled this out; should it happen, converting would break the code.
            self.report(
                original_node.name,
                "AF601",
                message,
                reason="it awaits after the other fixes; callers in other files may have "
                "been changed: please report this",
            )
            return updated_node
        if not self.report(original_node.name, "AF601", message + "; make it a def"):
            return updated_node
        return updated_node.with_changes(asynchronous=None)

    def _key(self, node: cst.FunctionDef) -> str | None:
        # A top-level function, or a method of a top-level class.
        if len(self.function_stack) != 0:
            return None
        if len(self.class_stack) > 1:
            return None
        return ".".join([*self.class_stack, node.name.value])

    # -- call sites ----------------------------------------------------------------------

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.BaseExpression:
        call = original_node.expression
        if not isinstance(call, cst.Call) or not self._planned_site(call):
            return updated_node
        inner = updated_node.expression
        assert isinstance(inner, cst.Call)
        # The await's own parentheses stay around the call.
        return inner.with_changes(
            lpar=[*updated_node.lpar, *inner.lpar], rpar=[*inner.rpar, *updated_node.rpar]
        )

    def _planned_site(self, call: cst.Call) -> bool:
        dotted = get_full_name_for_node(call.func)
        if dotted is None:
            return False
        if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name):
            receiver = call.func.value
            for class_name, method in self.plan_data["methods"]:
                if call.func.attr.value == method and self._is_self_of(receiver, class_name):
                    return True
        if dotted not in self.plan_data["names"]:
            return False
        head: cst.BaseExpression = call.func
        while isinstance(head, cst.Attribute):
            head = head.value
        scope = self.get_metadata(ScopeProvider, head, None)
        if scope is None or not isinstance(head, cst.Name):
            return False
        # The name must mean the module-level binding, not a local one.
        return all(isinstance(a.scope, GlobalScope) for a in scope[head.value])

    def _is_self_of(self, name: cst.Name, class_name: str) -> bool:
        if len(self.class_stack) != 1 or self.class_stack[0] != class_name:
            return False
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return False
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, FunctionScope):
            return False
        function = assignments[0].scope.node
        if not isinstance(function, cst.FunctionDef) or function not in _methods_of_stack(
            self.function_stack
        ):
            return False
        params = function.params.params
        return bool(params) and params[0].name.value == name.value


def _methods_of_stack(stack: Iterable[cst.FunctionDef]) -> list[cst.FunctionDef]:
    return list(stack)[:1]


CODEMODS = (AsyncWithoutAwait,)
