"""The I/O methods of `pathlib.Path` (read_text, write_bytes, open...) that AF204 finds
(issue 24, item 5): libcst names `Path(p).read_text()`, not `path.read_text()` for a
`path` that is one; these helpers prove the receiver a Path."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.http_client.blocking_apis import PATH_CLASSES, PATH_TO_THREAD
from asyncfix.codemods.http_client.screen import Shape, calls_in, module_shape

# The methods of a path that give a path again, without I/O of their own.
_PATH_ATTRIBUTES = frozenset({"parent"})
_PATH_METHODS = frozenset(
    {"with_name", "with_suffix", "with_stem", "joinpath", "absolute", "expanduser"}
)
PATH_IO = frozenset({*PATH_TO_THREAD, "open"})


def path_method(codemod: AsyncfixCodemod, call: cst.Call) -> str | None:
    """`pathlib.Path.<method>` when `call` is an I/O method (PATH_IO) called on what is
    provably a pathlib.Path: `Path(...)`, `path / "x"`, `path.parent`, a name bound once
    to one, or a parameter annotated so. libcst's qualified names see only the first."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in PATH_IO:
        return None
    cls = _path_class(codemod, func.value, 0)
    return f"{cls}.{func.attr.value}" if cls is not None else None


def _path_class(codemod: AsyncfixCodemod, node: cst.BaseExpression, depth: int) -> str | None:
    if depth > 8:
        return None
    if isinstance(node, cst.Call):
        found = _qualified(codemod, node.func) & PATH_CLASSES
        if found:
            return min(found)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PATH_METHODS:
            return _path_class(codemod, func.value, depth + 1)
        return None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        return _path_class(codemod, node.left, depth + 1)
    if isinstance(node, cst.Attribute) and node.attr.value in _PATH_ATTRIBUTES:
        return _path_class(codemod, node.value, depth + 1)
    if isinstance(node, cst.Name):
        return _bound_path(codemod, node, depth)
    return None


def _bound_path(codemod: AsyncfixCodemod, name: cst.Name, depth: int) -> str | None:
    """The path class of a name bound once: a parameter annotated with it, or `x = <path>`."""
    scope = codemod.get_metadata(ScopeProvider, name, None)
    if scope is None or name.value not in scope:
        return None
    assignments = list(scope[name.value])
    if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
        return None
    bound = assignments[0].node
    if isinstance(bound, cst.Param):
        annotation = bound.annotation.annotation if bound.annotation else None
        found = _qualified(codemod, annotation) & PATH_CLASSES if annotation else set()
        return min(found) if found else None
    target = codemod.get_metadata(ParentNodeProvider, bound, None)
    assign = codemod.get_metadata(ParentNodeProvider, target, None) if target else None
    if (
        isinstance(target, cst.AssignTarget)
        and isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and assign.targets[0].target is bound
    ):
        return _path_class(codemod, assign.value, depth + 1)
    return None


def _qualified(codemod: AsyncfixCodemod, node: cst.CSTNode) -> set[str]:
    return {q.name for q in codemod.get_metadata(QualifiedNameProvider, node, set())}


def may_call_path_io(tree: ast.Module, shape: Shape | None = None) -> bool:
    """Could an async def of `tree` call a path's I/O method (path_method)? Only in a
    module that imports pathlib, and only as `<something>.read_text(...)` and the like.
    `shape`: the module's `module_shape`, when the caller has it."""
    # Imports and defs are statements: the statements-only walk finds them all, where a
    # walk of every expression cost more than the rest of the prescreen (most modules
    # import no pathlib).
    shape = module_shape(tree) if shape is None else shape
    if not any(
        (alias.name if isinstance(node, ast.Import) else node.module or "").startswith("pathlib")
        for node in shape.imports
        for alias in node.names
    ):
        return False
    # The calls under the outermost async defs: those `calls_in(tree, AsyncFunctionDef)`
    # yields (an async def nested in one is walked with it).
    return any(
        isinstance(call.func, ast.Attribute) and call.func.attr in PATH_IO
        for node in shape.defs[ast.AsyncFunctionDef]
        for call in calls_in(node)
    )
