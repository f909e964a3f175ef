"""What the registry knows about each codemod, without importing one (nor libcst).

`asyncfix/codemods/manifest.py` is generated from the classes by
`.venv/bin/python -m asyncfix.codemods.catalog_build` (a test fails when it is stale). A
run asks it first: a file whose bytes hold no selected codemod's triggers, or that no
prescreen wants, is finished without importing the codemods (see docs/architecture.md,
"Speed"). Importing libcst costs about 0.4 s; this module and the manifest about 1 ms.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncfix.codemods.view import Screen, SourceView

__all__ = ["Entry", "entries", "plans_empty", "screen_of", "selected", "wanted"]


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
    checks_config: bool  # it overrides `check_config`
    # "module:function" of its prescreen, when that module imports no libcst; None when
    # its prescreen needs the class (then it wants every file holding its triggers).
    screen: str | None

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
    module, _, qualname = entry.screen.partition(":")
    found: object = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    assert callable(found)
    return found


def selected(enabled: frozenset[str]) -> list[Entry]:
    """The codemods that run for these rule codes, in order."""
    return [e for e in entries() if not enabled.isdisjoint(e.codes)]


def plans_empty(codemods: Collection[Entry], project: Iterable[bytes]) -> bool:
    """Does every planner among `codemods` name no file of a project of these bytes? (its
    gate holds none of them); False for a planner without a known gate."""
    tokens: set[bytes] = set()
    for entry in codemods:
        if not entry.plans:
            continue
        if entry.plan_gate is None:
            return False
        tokens.update(entry.plan_gate)
    return not any(token in data for data in project for token in tokens)


def wanted(codemods: Collection[Entry], view: SourceView) -> bool:
    """Does the prescreen of any of `codemods` (those that may match the file) want it?
    One without a prescreen of its own module wants every file."""
    return any(e.screen is None or screen_of(e)(view) for e in codemods)
