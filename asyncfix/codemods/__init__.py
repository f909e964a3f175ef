"""The registry: every family module's codemods, in the order they must run."""

from __future__ import annotations

import heapq
import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncfix.codemods.base import AsyncfixCodemod, Rule

# Modules of this package that hold shared code, not codemods.
_NOT_FAMILIES = frozenset({"base", "critical", "helpers", "shared", "speed"})


class RegistryError(Exception):
    """The codemods' declared order is impossible (a cycle, an unknown name)."""


def _family_modules() -> list[str]:
    """The names of this package's family modules, without importing them."""
    names = (info.name for info in pkgutil.iter_modules(__path__))
    return sorted(n for n in names if n not in _NOT_FAMILIES and not n.startswith("_"))


def _discover() -> list[type[AsyncfixCodemod]]:
    # Each family module lists its codemods in CODEMODS; a new family needs no edit here.
    found: list[type[AsyncfixCodemod]] = []
    for name in _family_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(getattr(module, "CODEMODS", ()))
    return found


def order_codemods(codemods: Sequence[type[AsyncfixCodemod]]) -> list[type[AsyncfixCodemod]]:
    """Topological order of the declared AFTER relations; ties broken by name."""
    by_name = {c.NAME: c for c in codemods}
    families = {c.FAMILY for c in codemods}
    edges: dict[str, set[str]] = {c.NAME: set() for c in codemods}  # name -> must run before it
    for c in codemods:
        for dep in c.AFTER:
            if dep == "*":
                edges[c.NAME] |= {o.NAME for o in codemods if "*" not in o.AFTER}
            elif dep in by_name:
                edges[c.NAME].add(dep)
            elif dep in families:
                edges[c.NAME] |= {o.NAME for o in codemods if dep == o.FAMILY}
            else:
                # A family module not among `codemods` is fine to name; a typo is not.
                if dep not in _family_modules():
                    raise RegistryError(f"codemod {c.NAME!r} runs after unknown {dep!r}")
        edges[c.NAME].discard(c.NAME)
    waiting = {name: set(deps) for name, deps in edges.items()}
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    ordered: list[type[AsyncfixCodemod]] = []
    while ready:
        name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for other, deps in waiting.items():
            if name in deps:
                deps.remove(name)
                if not deps:
                    heapq.heappush(ready, other)
    if len(ordered) != len(codemods):
        stuck = sorted(n for n, deps in waiting.items() if deps)
        raise RegistryError(f"codemod order has a cycle among: {', '.join(stuck)}")
    return ordered


@cache
def all_codemods() -> tuple[type[AsyncfixCodemod], ...]:
    return tuple(order_codemods(_discover()))


def all_rules() -> dict[str, tuple[type[AsyncfixCodemod], Rule]]:
    return {rule.code: (c, rule) for c in all_codemods() for rule in c.RULES}


@cache
def families() -> tuple[str, ...]:
    """Every family name, in the order of its rule codes (serializer AF1xx first)."""
    first: dict[str, str] = {}
    for code, (codemod, _) in sorted(all_rules().items()):
        first.setdefault(codemod.FAMILY, code)
    return tuple(first)


def selector_matches(selector: str, codemod: type[AsyncfixCodemod], code: str) -> bool:
    return code.startswith(selector) or selector in (codemod.FAMILY, codemod.NAME)


def known_selector(selector: str) -> bool:
    """A code (AF203), a prefix (AF2) or a family name (http_client) of some rule."""
    return selector in families() or any(
        selector_matches(selector, c, code) for code, (c, _) in all_rules().items()
    )


def resolve_selection(select: Iterable[str], ignore: Iterable[str]) -> frozenset[str]:
    """The rule codes a run enables. Unknown selectors are an error, not a silent no-op."""
    select, ignore = list(select), list(ignore)
    rules = all_rules()
    for selector in (*select, *ignore):
        if not known_selector(selector):
            raise RegistryError(
                f"unknown rule selector {selector!r}: use a code (AF203), a prefix (AF2) "
                "or a family name (http_client); `asyncfix list` shows them"
            )
    return frozenset(
        code
        for code, (c, _) in rules.items()
        if any(selector_matches(s, c, code) for s in select)
        and not any(selector_matches(s, c, code) for s in ignore)
    )


def __getattr__(name: str) -> Any:
    # Importing the codemods imports libcst (~0.4 s): only a run that parses pays for it,
    # not a rerun served whole from the cache.
    if name in ("AsyncfixCodemod", "Rule"):
        from asyncfix.codemods import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncfixCodemod",
    "RegistryError",
    "Rule",
    "all_codemods",
    "all_rules",
    "families",
    "order_codemods",
    "resolve_selection",
]
