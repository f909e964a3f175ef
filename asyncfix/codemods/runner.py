"""The one way to run codemods on a parsed module: the driver's pipeline, a family's plan
(a dry run of its own codemods) and the fixit bridge all call `run_codemods`."""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from asyncfix.codemods.base import AsyncfixCodemod, FileRun, visit_with_metadata
from asyncfix.codemods.helpers import (
    BlankKeepingImportsRemover,
    KnownUnusedRemover,
    TopImportsAdder,
    imports_still_used,
    imports_unused,
    sort_added_imports,
)
from asyncfix.codemods.speed.traversal import fast_visits
from asyncfix.config import Config
from asyncfix.project import import_sorter
from asyncfix.suppressions import suppressions_for

__all__ = ["file_run", "run_codemods"]


def file_run(
    module: cst.Module,
    path: str,
    config: Config,
    enabled: frozenset[str],
    *,
    text: str | None = None,
    source: bytes = b"",
    parsed_ast: ast.Module | None = None,
    plans: Mapping[str, object] | None = None,
    code_families: Mapping[str, str] | None = None,
    suppress: Mapping[int, frozenset[str] | None] | None = None,
) -> FileRun:
    """A FileRun over `module`, with the file's own suppression comments (read from
    `text`, the module's code by default) and `suppress` added to them (line -> codes;
    None: all)."""
    suppressions = suppressions_for(module.code if text is None else text, path, config)
    for line, codes in (suppress or {}).items():
        have = suppressions.get(line, frozenset())
        suppressions[line] = None if codes is None or have is None else have | codes
    return FileRun(
        path=path,
        original=module,
        config=config,
        enabled=enabled,
        code_families=code_families or {},
        suppressions=suppressions,
        plans=plans or {},
        source=source,
        parsed_ast=parsed_ast,
    )


def run_codemods(
    codemods: Sequence[type[AsyncfixCodemod]],
    module: cst.Module,
    run: FileRun,
    *,
    screened: Collection[type[AsyncfixCodemod]] | None = None,
    imports: bool = True,
) -> FileRun:
    """`codemods`, in order, on `module` (the tree `run.original`): each one whose rules
    `run.enabled` selects and that may match `run.source` or has a plan here. The new
    module is `run.result` and the findings are `run.findings`; `run` is returned.

    `screened`: the codemods whose prescreen passed on these bytes (None: all); the others
    are skipped while the tree is still the one that was screened. `imports`: make the
    import changes the codemods asked for (False: a dry run that only reads the result).
    """
    context = CodemodContext(filename=run.path)
    # One visit mechanism for the whole file: see asyncfix/codemods/speed/traversal.py.
    with fast_visits():
        for codemod in codemods:
            if not run.enabled.intersection(codemod.codes()):
                continue
            if (
                screened is not None
                and codemod not in screened
                and module is run.original
                and not context.scratch.get(AddImportsVisitor.CONTEXT_KEY)
            ):
                continue  # nothing changed yet: its prescreen saw this very file
            if not (codemod.may_match(run.source) or codemod.NAME in run.plans):
                continue
            fixes = sum(f.fixable for f in run.findings)
            new = codemod(context, run).transform(module)
            # libcst rebuilds every node it visits: when nothing changed, carry on with
            # the same tree, so later codemods reuse its metadata and original positions.
            if new is module or (
                sum(f.fixable for f in run.findings) == fixes and new.deep_equals(module)
            ):
                continue
            module = new
        if imports:
            module = _change_imports(context, module, run)
    run.result = module
    return run


def _change_imports(context: CodemodContext, module: cst.Module, run: FileRun) -> cst.Module:
    """The import changes of every codemod, made last and once (libcst's own visitors);
    what is added goes where the project's import sorter puts it."""
    if context.scratch.get(AddImportsVisitor.CONTEXT_KEY):
        added = visit_with_metadata(TopImportsAdder(context), module)
        root = None if run.config.source is None else run.config.source.parent
        module = sort_added_imports(module, added, import_sorter(root))
    removals = context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY)
    # (half of them remove nothing: another use remains, which Python's own scope
    # analysis tells for a fraction of the cost of libcst's)
    # (a rewritten tree's code made once: the last codemod and the driver's output ask
    # for it too)
    if removals and not imports_still_used(code := _code(module, run), removals):
        # (the other common case: nothing but the import spells the name)
        unused = imports_unused(code, removals)
        # (else its scopes from the run's wrapper: libcst's own providers cost several
        # times more, and the last codemod may have resolved them on this very tree)
        remover = (
            BlankKeepingImportsRemover(context)
            if unused is None
            else KnownUnusedRemover(context, unused)
        )
        module = visit_with_metadata(remover, module, run)
    return module


def _code(module: cst.Module, run: FileRun) -> str:
    """`module.code`, from the bytes `run` made of a rewritten tree."""
    if module is run.original:
        return module.code
    return run.bytes_of(module).decode(module.encoding)
