"""AF601's prescreen, on the stdlib ast (no libcst): everything the codemod does in a file
is in the plan for it, or what the file alone decides (`local_plan`)."""

from __future__ import annotations

from pathlib import Path

from asyncfix.codemods.shared.async_def_plan import PLAN_NAME, local_plan, wanted
from asyncfix.codemods.view import SourceView
from asyncfix.files import SourceFile


def screen_async_def(view: SourceView) -> bool:
    """The SCREEN of AsyncWithoutAwait: does its plan for this file change or report
    anything?"""
    plan = view.plans.get(PLAN_NAME)
    if plan is None:
        file = SourceFile(Path(view.path), view.path)
        plan = local_plan(file, view.source, view.config, view.enabled, tree=view.tree)
    return wanted(plan)
