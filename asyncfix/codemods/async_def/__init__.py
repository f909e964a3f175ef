"""Family `async_def` (AF6xx): `async def` functions that never await.

Turning one into a `def` changes every caller: `await f()` must become `f()` across the
project, in files rewritten in parallel. So the decision is made once, in the plan phase,
on the whole project, and only when every use of the function is a plain awaited call that
the plan has seen. Files are planned before any family rewrites them, so a function whose
body holds anything another family might turn into an await is never a candidate.

The codemod and its rule are in `without_await`, its prescreen (the plan for the file) in
`screen`; the plan, which the awaits family reads too, is shared code:
`asyncfix.codemods.shared.async_def_plan`. The codemod imports libcst, the prescreen does
not: it is imported when first asked for (`lazy_exports`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncfix.codemods.shared.async_def_facts import closed_world
from asyncfix.codemods.shared.async_def_plan import planned_for
from asyncfix.codemods.shared.lazy import lazy_exports

if TYPE_CHECKING:
    from asyncfix.codemods.async_def.without_await import AF601, CODEMODS, AsyncWithoutAwait

__getattr__ = lazy_exports(
    __name__,
    {"AF601": "without_await", "AsyncWithoutAwait": "without_await", "CODEMODS": "without_await"},
)

__all__ = ["AF601", "CODEMODS", "AsyncWithoutAwait", "closed_world", "planned_for"]
