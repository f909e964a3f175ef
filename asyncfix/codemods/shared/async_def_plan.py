"""The async_def plan: which never-awaiting async defs become plain defs, decided on
the whole project (or on one file alone), and what each file's calls become. The
async_def family applies it; the awaits family reads it (`planned_for`) so as not to
await a call the plan un-awaits.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncfix.codemods.shared.async_def_facts import (
    ASYNC_DEF,
    FRAMEWORK_DECORATORS,
    Outline,
    Target,
    closed_world,
    skipped_by_name,
    surely_unsafe,
    surely_unsafe_call,
)
from asyncfix.codemods.shared.async_def_uses import UseFinder
from asyncfix.config import Config
from asyncfix.files import SourceFile
from asyncfix.index import (
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    children,
    index_module,
    node_fields,
)

if TYPE_CHECKING:
    from asyncfix.codemods.base import FileRun


class Planner(UseFinder):
    """Decides, on the original code of the whole project, which functions to convert."""

    def targets(self) -> list[Target]:
        found: list[Target] = []
        for module in self.index.modules(ASYNC_DEF):
            candidates = []
            for info in module.functions.values():
                if not info.is_async or info.awaits or info.yields:
                    continue
                if "<locals>" in info.qualname:
                    continue  # nested: its uses are local, but so is the gain
                depth = info.qualname.removeprefix(module.name + ".").count(".")
                if depth > (1 if info.class_name else 0):
                    continue  # a method of a nested class
                candidates.append(info)
            if not candidates:
                continue  # the common case: every async def awaits; no walk
            # Most are silenced by what the index knows (see _silent): no tree for those.
            judged = {i.qualname for i in candidates if not self._silent(module, i)}
            if judged and module.path not in self._outlines:
                positions = {(info.line, info.column) for info in candidates}
                self._outlines[module.path] = Outline(module.tree, positions)
            for info in candidates:
                if info.qualname not in judged:
                    found.append(Target(info, module, None, silent=True))
                    continue
                outline = self._outlines[module.path]
                place = outline.async_defs.get((info.line, info.column))
                if place is not None:
                    node, owner_lines = place
                    found.append(Target(info, module, node, owner_lines, outline.defined_twice))
        return found

    def _silent(self, module: ModuleInfo, info: FunctionInfo) -> bool:
        """Is it skipped without a finding on what the index knows, whatever its tree
        says? (Like the skips of _judge, these come before any finding: the order of the
        two does not matter.)"""
        return (
            skipped_by_name(info.name, module.path)
            or self.config.in_test_code(module.path)
            or any(d.startswith("pytest.") for d in info.decorators)
            or any(d.rsplit(".", 1)[-1] in FRAMEWORK_DECORATORS for d in info.decorators)
            or surely_unsafe(info.calls, self.safe_methods)  # see unsafe_call in _judge
        )

    def plan(self) -> dict[str, Any]:
        targets = self.targets()
        judged = every = [t for t in targets if not t.silent]
        # The other classes' methods only matter to a finding no earlier one pre-empts.
        methods = [t for t in judged if t.info.class_name and not self._refused_anyway(t)]
        method_names = {t.info.name for t in methods}
        given = self.index.given
        if given is not None:
            # A run given some files reads their entries alone. A file's entry holds the
            # verdicts on its own candidates and the call sites of the candidates converted
            # elsewhere, which _judge_files converts only when their module is given too:
            # so only the given modules' candidates are judged. Each is judged as before,
            # on the searches for its own name (see _searched_alone).
            targets = [t for t in targets if t.module.path in given]
            judged = [t for t in judged if t.module.path in given]
            methods = [t for t in methods if t.module.path in given]
        names, asked = {t.info.name for t in judged}, {t.info.name for t in methods}
        if given is not None and not self._searched_alone(names):
            names, asked = {t.info.name for t in every}, method_names  # (as in a whole run)
        self._holders = self._modules_naming(names)
        classes = self._class_methods(asked, method_names)
        checked = [t for t in judged if self._precheck(t)]
        uses = self._find_uses(checked, keep={t.module.path for t in targets})
        for target, problems in zip(checked, uses, strict=True):
            self._judge(target, classes, problems)
            self._judge_files(target)
        plans: dict[str, Any] = {}
        for target in targets:
            entry = plans.setdefault(target.module.path, empty_plan())
            if target.silent:
                continue
            if target.reason is not None:
                entry["refuse"][target.key] = target.reason
                continue
            entry["convert"].append(target.key)
            for path, names in target.sites.items():
                site = plans.setdefault(path, empty_plan())
                for name in sorted(names):
                    dropped = name.startswith("!")
                    name = name.removeprefix("!")
                    if name.startswith("self."):
                        key = "dropped_methods" if dropped else "methods"
                        site[key].append([target.info.class_name, name[5:]])
                    else:
                        site["dropped" if dropped else "names"].append(name)
        return plans


def project_plan(
    index: ProjectIndex, config: Config, enabled: Collection[str] | None = None
) -> dict[str, Any]:
    """AsyncWithoutAwait's plan (see AsyncfixCodemod.plan), which imports no libcst.

    A file is planned only where the project changes its verdict: what the file alone
    decides, the transformer decides again (see `local_plan`), and such a file stays
    cacheable."""
    if enabled is None:  # not told (a direct call): as when every rule runs
        enabled = frozenset({"AF501", "AF601"})
    planner = Planner(index, config, enabled)
    project = planner.plan()
    files = {f.display: f for f in index.files}
    planned: dict[str, Any] = {}
    for path, entry in project.items():
        data = index.data(files[path]) if path in files else None
        if data is None:
            planned[path] = entry
            continue
        module = index.module(files[path])
        alone = local_plan(files[path], data, config, enabled, planner, module)
        if entry != alone:
            planned[path] = entry
    return planned


class OneFileIndex(ProjectIndex):
    """The index of one file, from bytes in memory: a file processed on its own (with
    `module`, the facts the project's index already holds for it)."""

    def __init__(self, file: SourceFile, data: bytes, module: ModuleInfo | None = None) -> None:
        super().__init__([file])
        self._bytes = data
        if module is not None:
            self._modules[file.display] = module

    def data(self, file: SourceFile) -> bytes | None:
        return self._bytes


def empty_plan() -> dict[str, Any]:
    # names/methods: `await f()` sites to un-await; dropped/dropped_methods: `f()`
    # statements that stay as they are, and that AF501 must therefore not await.
    return {
        "convert": [],
        "refuse": {},
        "names": [],
        "methods": [],
        "dropped": [],
        "dropped_methods": [],
    }


# The codemod whose plan this is (AsyncWithoutAwait.NAME): the plans are keyed by it.
PLAN_NAME = "async-without-await"


def planned_for(run: FileRun) -> Mapping[str, Any]:
    """AF601's instructions for the file of `run`, planned or decided from the file alone."""
    plan: Mapping[str, Any] | None = run.plans.get(PLAN_NAME)
    if plan is None:
        file = SourceFile(Path(run.path), run.path)
        data = run.bytes_of(run.original)
        plan = local_plan(file, data, run.config, run.enabled, tree=run.syntax_tree())
    return plan


# The prescreen and then the transform ask for the same file's plan: the last few are kept.
_LOCAL_PLANS: dict[tuple[Any, ...], dict[str, Any]] = {}


def local_plan(
    file: SourceFile,
    data: bytes,
    config: Config,
    enabled: Collection[str],
    project: Planner | None = None,
    module: ModuleInfo | None = None,
    tree: ast.Module | None = None,
) -> dict[str, Any]:
    """The plan for one file as if it were the whole project (do not modify it). In the
    plan phase, `project` and `module` (the file's facts) save walking it again; `tree`,
    the stdlib ast of `data` when the caller has it, often saves indexing the file and
    else parsing it again."""
    if ASYNC_DEF not in data:
        return empty_plan()
    if tree is not None and not _may_judge(tree, file.display):
        return empty_plan()  # every target is skipped without a word: nothing to plan
    # What a plan reads of the run: the options and whether AF501 runs (see UseFinder).
    tests = (config.tests, config.test_paths)
    key = (file.display, data, closed_world(config), "AF501" in enabled, tests)
    if key not in _LOCAL_PLANS:
        if len(_LOCAL_PLANS) >= 16:
            _LOCAL_PLANS.clear()
        if module is None and tree is not None:
            module = index_module(file, data, tree)  # the caller's ast: not parsed again
        alone = OneFileIndex(file, data, module)
        if project is not None:
            # (`data` is the project's bytes of the file: the words it has listed hold)
            alone.share_words(project.index)
        plan = Planner(alone, config, enabled, project).plan()
        _LOCAL_PLANS[key] = plan.get(file.display, empty_plan())
    return _LOCAL_PLANS[key]


def _may_judge(tree: ast.Module, path: str) -> bool:
    """Is there an async def outside functions that the plan of this file alone may judge
    rather than skip silently? Not one that awaits or yields (it is no target), nor one
    `_judge` skips for its name or for a call `unsafe_call` names whatever the imports."""
    todo: list[ast.AST] = list(tree.body)  # the statements outside functions
    while todo:
        node = todo.pop()
        if isinstance(node, ast.AsyncFunctionDef):
            if (
                not _awaits_or_yields(node)
                and not skipped_by_name(node.name, path)
                and not any(surely_unsafe_call(n) for n in ast.walk(node) if n is not node)
            ):
                return True
        elif isinstance(node, ast.ClassDef):
            todo.extend(node.body)
        elif not isinstance(node, ast.FunctionDef):
            for child in children(node):  # the blocks of if/try/with/...
                if isinstance(child, ast.stmt):
                    todo.append(child)
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    todo.extend(child.body)
    return False


_AWAITING = frozenset({ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom})
_NOT_ENTERED = frozenset({ast.Lambda, ast.ClassDef})


def _awaits_or_yields(function: ast.AsyncFunctionDef) -> bool:
    """FunctionInfo.awaits or .yields, from the tree: its own body, with the decorators
    of nested functions (evaluated there) but not their bodies, lambdas or classes. (By
    node type: a parsed tree holds no subclass of one; and through `node_fields`, which
    leave out the contexts and operators, a third of the nodes.)"""
    todo: list[ast.AST | None] = list(function.body)
    while todo:
        node = todo.pop()
        kind = type(node)
        if kind in _AWAITING:
            return True
        if kind in _NOT_ENTERED or node is None:  # (None: a hole in `{**d}`'s keys)
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo += node.decorator_list
            continue
        if isinstance(node, ast.comprehension) and node.is_async:
            return True
        for name in node_fields(kind):
            value = getattr(node, name)
            if type(value) is list:
                todo += value
            elif value is not None:
                todo.append(value)
    return False


def wanted(plan: Mapping[str, Any]) -> bool:
    """Does a plan entry make the transformer change or report anything?"""
    return bool(plan["convert"] or plan["refuse"] or plan["names"] or plan["methods"])
