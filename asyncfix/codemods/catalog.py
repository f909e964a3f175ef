"""What the registry knows about each codemod, without importing one (nor libcst).

`asyncfix/codemods/manifest.py` is generated from the classes by
`.venv/bin/python -m asyncfix.codemods.catalog_build` (a test fails when it is stale). A
run asks it first: a file whose bytes hold no selected codemod's triggers, or that no
prescreen wants, is finished without importing the codemods (see docs/architecture.md,
"Speed"). Importing libcst costs about 0.4 s; this module and the manifest about 1 ms.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from asyncfix.codemods.view import Screen, SourceView
    from asyncfix.config import Config
    from asyncfix.index import ProjectIndex

    # A plan made without its class (AsyncfixCodemod.PLANNER).
    Planner = Callable[[ProjectIndex, Config], Mapping[str, Any] | None]

__all__ = [
    "Entry",
    "entries",
    "holds_any",
    "may_plan",
    "planner_of",
    "screen_of",
    "selected",
    "wanted",
]


@dataclass(frozen=True)
class Entry:
    """One codemod as the registry orders it (see AsyncfixCodemod for each attribute)."""

    name: str
    family: str
    codes: tuple[str, ...]
    after: tuple[str, ...]
    triggers: tuple[bytes, ...]  # all of these...
    any_of: tuple[bytes, ...]  # ...and one of these (when any): its may_match
    in_tests: bool
    indexes: tuple[bytes, ...]
    plan_cost: float
    plans: bool  # it overrides `plan`: it may need the project index
    # A plan names no file unless some file of the project holds one of these (read off
    # the plan's code: see catalog_build.PLAN_GATES); None: not known, always ask it.
    plan_gate: tuple[bytes, ...] | None
    # Its plan names one of the files given to a run only if one of them holds one of
    # these (AsyncfixCodemod.PLAN_REACH); None: not known, always ask it.
    plan_reach: tuple[bytes, ...] | None
    checks_config: bool  # it overrides `check_config`
    # "module:function" of its prescreen, when that module imports no libcst; None when
    # its prescreen needs the class (then it wants every file holding its triggers).
    screen: str | None
    # "module:function" of its plan (AsyncfixCodemod.PLANNER), when that module imports no
    # libcst; None when the plan needs the class, or when it makes none.
    planner: str | None

    def may_match(self, data: bytes) -> bool:
        return all(t in data for t in self.triggers) and (
            not self.any_of or any(t in data for t in self.any_of)
        )


@cache
def entries() -> tuple[Entry, ...]:
    from asyncfix.codemods.manifest import CODEMODS

    return CODEMODS


@cache
def screen_of(entry: Entry) -> Screen:
    """The prescreen function the manifest names (its module imports no libcst)."""
    assert entry.screen is not None
    found: Screen = _function(entry.screen)
    return found


@cache
def planner_of(entry: Entry) -> Planner:
    """The plan function the manifest names (its module imports no libcst)."""
    assert entry.planner is not None
    found: Planner = _function(entry.planner)
    return found


def _function(where: str) -> Any:
    """The function at "module:qualname"."""
    module, _, qualname = where.partition(":")
    found: object = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    assert callable(found)
    return found


def selected(enabled: frozenset[str]) -> list[Entry]:
    """The codemods that run for these rule codes, in order."""
    return [e for e in entries() if not enabled.isdisjoint(e.codes)]


def may_plan(
    codemods: Collection[Entry], project: Sequence[bytes], given: Sequence[bytes] | None = None
) -> list[Entry]:
    """The planners among `codemods` that may name a file a run reports on. A planner
    names no file of a project of these bytes when none of them holds a token of its
    gate, and none of the files given to a run (`given`: their bytes, when not every file
    of the project is given) when none of those holds a token of its reach."""
    held: dict[bytes, bool] = {}  # token -> some file of the project holds it

    def in_project(tokens: tuple[bytes, ...]) -> bool:
        for token in tokens:
            if token not in held:
                held[token] = any(token in data for data in project)
            if held[token]:
                return True
        return False

    found = []
    for entry in codemods:
        if not entry.plans:
            continue
        reach = entry.plan_reach
        if given is not None and reach is not None and not holds_any(given, reach):
            continue  # (it names none of the given files)
        if entry.plan_gate is None or in_project(entry.plan_gate):
            found.append(entry)
    return found


def holds_any(files: Sequence[bytes], tokens: Collection[bytes]) -> bool:
    """Does one of `files` (their bytes) hold one of `tokens`? (a planner's reach: see
    may_plan, planning.reaching)"""
    return any(token in data for data in files for token in tokens)


def wanted(codemods: Collection[Entry], view: SourceView) -> bool:
    """Does the prescreen of any of `codemods` (those that may match the file) want it?
    One without a prescreen of its own module wants every file."""
    return any(e.screen is None or screen_of(e)(view) for e in codemods)
