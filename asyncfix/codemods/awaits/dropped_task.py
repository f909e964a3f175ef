"""AF502: a task from `asyncio.create_task` whose result is dropped."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    Assignment,
    FunctionScope,
    GlobalScope,
    ParentNodeProvider,
    Scope,
    ScopeProvider,
)

from asyncfix.codemods.awaits._shared import LOOP_CLASS, LOOP_TASK_FACTORY, TASK_FACTORIES
from asyncfix.codemods.awaits.receivers import ReceiverTypes
from asyncfix.codemods.base import Rule
from asyncfix.codemods.helpers import loop_context, module_name_at
from asyncfix.versions import GENERIC_ALIASES, declares, missing

AF502 = Rule(
    code="AF502",
    name="dropped-task",
    summary="asyncio.create_task() result dropped -> a strong reference kept until it is done",
    why=(
        "The event loop keeps only a weak reference to tasks: a task whose result is "
        "dropped can be garbage-collected before it finishes, silently cutting its work "
        "short."
    ),
    fix=(
        "As the asyncio documentation shows: `task = asyncio.create_task(...)`, "
        "`_background_tasks.add(task)`, `task.add_done_callback(_background_tasks.discard)`, "
        "with a module-level `_background_tasks` set (added once). Rewritten in an async def "
        "where the statement stands on its own line and the names `task` (or "
        "`background_task`) and `_background_tasks` are free; elsewhere, and for "
        "`ensure_future` (which may return a plain Future), a finding: keep a reference by "
        "hand or use an asyncio.TaskGroup."
    ),
    before=("import asyncio\n\n\nasync def handler(job):\n    asyncio.create_task(job.run())\n"),
    after=(
        "import asyncio\n"
        "\n"
        "# Strong references to running tasks: the event loop keeps only weak ones.\n"
        '_background_tasks: "set[asyncio.Task[object]]" = set()\n'
        "\n"
        "\n"
        "async def handler(job):\n"
        "    task = asyncio.create_task(job.run())\n"
        "    _background_tasks.add(task)\n"
        "    task.add_done_callback(_background_tasks.discard)\n"
    ),
)


class DroppedTask(ReceiverTypes):
    """AF502's half of the family's codemod: the dropped task found (by `leave_Call`) and
    the statements and the module-level set that keep a reference to it."""

    def _dropped_task(self, call: cst.Call) -> bool:
        """AF502: `asyncio.create_task(...)` as a statement. True when it is one."""
        name = self._qualified(call.func)
        is_factory = name in TASK_FACTORIES
        if not is_factory and isinstance(call.func, cst.Attribute):
            is_factory = call.func.attr.value == LOOP_TASK_FACTORY and (
                self.type_of(call.func.value) == LOOP_CLASS
            )
        if not is_factory:
            return False
        code = cst.Module([]).code_for_node(call.func)
        message = f"the task `{code}()` returns is dropped: it can be garbage-collected mid-flight"
        plan = self._keep_task_plan(call, name)
        if isinstance(plan, str):
            self.report(
                call,
                "AF502",
                message,
                reason=f"{plan}: keep a reference until it is done (a set of background "
                "tasks with add_done_callback(set.discard)) or use an asyncio.TaskGroup",
            )
        elif self.report(call, "AF502", message + "; keep a reference until it is done"):
            statement, variable, task = plan
            self._keep_tasks[statement] = variable
            self._tasks_annotation = f"set[{task}[object]]"
        return True

    def _keep_task_plan(
        self, call: cst.Call, name: str | None
    ) -> tuple[cst.SimpleStatementLine, str, str] | str:
        """(statement, task variable, how asyncio.Task is spelled) for the rewrite, or why
        not."""
        if name == "asyncio.ensure_future":
            return "ensure_future may return a plain Future"
        scope = self.get_metadata(ScopeProvider, call, None)
        where = loop_context(scope)
        if scope is None or where.function is None or not isinstance(scope, FunctionScope):
            return "not directly in an async def"
        statement = self._statements[-1] if self._statements else None
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and statement.body[0].value is call
        ):
            return "the statement shares its line with others"
        variable = next((n for n in _TASK_NAMES if self._free_local(scope, n)), None)
        if variable is None:
            return "the names `task` and `background_task` are taken"
        globals_ = scope.globals
        if _TASKS_SET in scope and not all(
            isinstance(a.scope, GlobalScope) for a in scope[_TASKS_SET]
        ):
            return f"`{_TASKS_SET}` is a local name here"
        if _TASKS_SET in globals_ and not self._our_tasks_set(globals_):
            return f"the module already binds `{_TASKS_SET}` to something else"
        if _TASKS_SET in globals_:
            self._has_tasks_set = True  # reused: its annotation is not ours to write
            return statement, variable, "asyncio.Task"
        # The new set's annotation names asyncio.Task.
        asyncio = module_name_at(globals_, "asyncio", "Task")
        if asyncio is None:
            return "the name `asyncio` is bound to something else here"
        asyncio.add_import(self.context)
        return statement, variable, asyncio.spelled("Task")

    @staticmethod
    def _free_local(scope: Scope, name: str) -> bool:
        # Not bound anywhere visible, and not read here (a new local would shadow it).
        return name not in scope and not scope.accesses[name]

    def _our_tasks_set(self, globals_: Scope) -> bool:
        """Is the module's `_background_tasks` one plain `= set()`, as AF502 writes it?"""
        assignments = list(globals_[_TASKS_SET])
        if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
            return False
        parent = self.get_metadata(ParentNodeProvider, assignments[0].node, None)
        if isinstance(parent, cst.AssignTarget):
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        value = parent.value if isinstance(parent, cst.Assign | cst.AnnAssign) else None
        return value is not None and m.matches(value, m.Call(func=m.Name("set"), args=[]))

    def visit_Module(self, node: cst.Module) -> None:
        self._keep_tasks: dict[cst.CSTNode, str] = {}
        self._tasks_annotation = ""
        self._has_tasks_set = False

    def leave_SimpleStatementLine(
        self,
        original_node: cst.SimpleStatementLine,
        updated_node: cst.SimpleStatementLine,
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        variable = self._keep_tasks.get(original_node)
        expr = updated_node.body[0] if updated_node.body else None
        if variable is None or not isinstance(expr, cst.Expr):
            return updated_node
        keep = cst.parse_statement(f"{_TASKS_SET}.add({variable})\n")
        discard = cst.parse_statement(f"{variable}.add_done_callback({_TASKS_SET}.discard)\n")
        assign = updated_node.with_changes(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(variable))],
                    value=expr.value,
                    semicolon=expr.semicolon,
                )
            ]
        )
        return cst.FlattenSentinel([assign, keep, discard])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._keep_tasks or self._has_tasks_set:
            return updated_node
        # The comment says why the set exists; it names no tool or rule (the project keeps it).
        # Quoted: a module-level annotation is evaluated at import, and on Python 3.8
        # `set[...]` fails; not where `from __future__ import annotations` defers it, nor
        # where the project declares a Python that evaluates it.
        annotation = self._tasks_annotation
        config, path = self.run.config, self.run.path
        if not _future_annotations(updated_node) and not (
            declares(config, "python", path) and missing(config, GENERIC_ALIASES, path) is None
        ):
            annotation = f'"{annotation}"'
        line = cst.parse_statement(f"{_TASKS_SET}: {annotation} = set()\n")
        comment = cst.EmptyLine(comment=cst.Comment(_TASKS_COMMENT))
        body = list(updated_node.body)
        at = _after_imports(body)
        blank = [cst.EmptyLine()] if at else []
        line = line.with_changes(leading_lines=[*blank, comment])
        body.insert(at, line)
        return updated_node.with_changes(body=body)


_TASK_NAMES = ("task", "background_task")
_TASKS_SET = "_background_tasks"
_TASKS_COMMENT = "# Strong references to running tasks: the event loop keeps only weak ones."


def _after_imports(body: Sequence[cst.BaseStatement]) -> int:
    """Where a module-level statement goes: after the docstring and the leading imports."""
    at = 0
    for index, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            break
        first = stmt.body[0] if stmt.body else None
        is_docstring = (
            index == 0
            and isinstance(first, cst.Expr)
            and isinstance(first.value, cst.SimpleString | cst.ConcatenatedString)
        )
        if is_docstring or isinstance(first, cst.Import | cst.ImportFrom):
            at = index + 1
            continue
        break
    return at


def _future_annotations(module: cst.Module) -> bool:
    """Does the module start with `from __future__ import annotations`?"""
    return any(
        m.matches(
            small,
            m.ImportFrom(
                module=m.Name("__future__"),
                names=[m.ZeroOrMore(), m.ImportAlias(m.Name("annotations")), m.ZeroOrMore()],
            ),
        )
        for stmt in module.body
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
    )
