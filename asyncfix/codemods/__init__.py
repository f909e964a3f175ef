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
_NOT_FAMILIES = frozenset(
    {"base", "catalog", "catalog_build", "critical", "helpers", "manifest", "runner", "shared"}
    | {"speed", "view"}
)


class RegistryError(Exception):
    """The codemods' declared order is impossible (a cycle, an unknown name)."""


def _family_modules() -> list[str]:
    """The names of this package's family modules, without importing them."""
    names = (info.name for info in pkgutil.iter_modules(__path__))
    return sorted(n for n in names if n not in _NOT_FAMILIES and not n.startswith("_"))


def _discover() -> list[type[AsyncfixCodemod]]:
    # Each family module lists its codemods in CODEMODS; a new family needs no edit here.
    from asyncfix.codemods.speed.imports import import_matchers

    import_matchers()  # (before any family's imports reach it: see speed/imports.py)
    found: list[type[AsyncfixCodemod]] = []
    for name in _family_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(getattr(module, "CODEMODS", ()))
    return found


def order_codemods(codemods: Sequence[type[AsyncfixCodemod]]) -> list[type[AsyncfixCodemod]]:
    """Topological order of the declared AFTER relations; ties broken by name."""
    by_name = {c.NAME: c for c in codemods}
    # name -> must run before it
    edges: dict[str, set[str]] = {c.NAME: _runs_after(c, codemods) for c in codemods}
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


def _runs_after(
    c: type[AsyncfixCodemod], codemods: Sequence[type[AsyncfixCodemod]], *, star: bool = True
) -> set[str]:
    """The names of the codemods `c` declares to run after (`star=False`: not those it
    names only through "*", everything)."""
    names: set[str] = set()
    for dep in c.AFTER:
        if dep == "*":
            names |= {o.NAME for o in codemods if "*" not in o.AFTER} if star else set()
        elif any(dep in (o.NAME, o.FAMILY) for o in codemods):
            names |= {o.NAME for o in codemods if dep in (o.NAME, o.FAMILY)}
        elif dep not in _family_modules():
            # A family module not among `codemods` is fine to name; a typo is not.
            raise RegistryError(f"codemod {c.NAME!r} runs after unknown {dep!r}")
    return names - {c.NAME}


def prerequisites(code: str) -> frozenset[str]:
    """The rule codes of the codemods that the codemod of `code` runs after, transitively
    (those it names only as "*" aside): the fixes its fix may build on."""
    rules, codemods = all_rules(), all_codemods()
    if code not in rules:
        return frozenset()
    by_name = {c.NAME: c for c in codemods}
    seen: set[str] = set()
    todo = [rules[code][0]]
    while todo:
        for name in _runs_after(todo.pop(), codemods, star=False) - seen:
            seen.add(name)
            todo.append(by_name[name])
    return frozenset(code for name in seen for code in by_name[name].codes())


@cache
def all_codemods() -> tuple[type[AsyncfixCodemod], ...]:
    return tuple(order_codemods(_discover()))


_REGISTRY = all_codemods  # (a test may put its own codemods in its place)


def all_rules() -> dict[str, tuple[type[AsyncfixCodemod], Rule]]:
    return {rule.code: (c, rule) for c in all_codemods() for rule in c.RULES}


def every_rule() -> dict[str, tuple[type[AsyncfixCodemod], Rule]]:
    """The pipeline's rules and the ones reported from outside it (`--profile`'s AF701 and
    AF702): what `--select`, `explain`, SARIF and the fixit bridge know."""
    from asyncfix.profiles import profile_rules  # (no codemod imports: a cheap module)

    return {**all_rules(), **profile_rules()}


@cache
def families() -> tuple[str, ...]:
    """Every family name, in the order of its rule codes (serializer AF1xx first)."""
    first: dict[str, str] = {}
    for code, (family, _) in sorted(_pipeline_owners().items()):
        first.setdefault(family, code)
    return tuple(first)


def manifest_is_registry() -> bool:
    """Is the registry the generated manifest's (not codemods a test put in its place)?"""
    return all_codemods is _REGISTRY


def _pipeline_owners() -> dict[str, tuple[str, str]]:
    """rule code -> (family, codemod name) of the pipeline's rules: from the manifest, so
    that choosing rules imports no codemod (nor libcst)."""
    if manifest_is_registry():
        from asyncfix.codemods.catalog import entries

        return {code: (e.family, e.name) for e in entries() for code in e.codes}
    return {code: (c.FAMILY, c.NAME) for code, (c, _) in all_rules().items()}


def _owners() -> dict[str, tuple[str, str]]:
    """`_pipeline_owners` and the rules reported from outside the pipeline (every_rule)."""
    if manifest_is_registry():
        from asyncfix.codemods.manifest import OUTSIDE

        return {**_pipeline_owners(), **{code: (f, n) for code, f, n in OUTSIDE}}
    return {code: (c.FAMILY, c.NAME) for code, (c, _) in every_rule().items()}


def selector_matches(selector: str, codemod: type[AsyncfixCodemod], code: str) -> bool:
    return _selects(selector, code, codemod.FAMILY, codemod.NAME)


def _selects(selector: str, code: str, family: str, name: str) -> bool:
    return code.startswith(selector) or selector in (family, name)


def known_selector(selector: str) -> bool:
    """A code (AF203), a prefix (AF2) or a family name (http_client) of some rule."""
    return selector in families() or any(
        _selects(selector, code, *owner) for code, owner in _owners().items()
    )


def resolve_selection(select: Iterable[str], ignore: Iterable[str]) -> frozenset[str]:
    """The rule codes a run enables. Unknown selectors are an error, not a silent no-op."""
    select, ignore = list(select), list(ignore)
    owners = _owners()
    for selector in (*select, *ignore):
        if not known_selector(selector):
            raise RegistryError(
                f"unknown rule selector {selector!r}: use a code (AF203), a prefix (AF2) "
                "or a family name (http_client); `asyncfix list` shows them"
            )
    return frozenset(
        code
        for code, owner in owners.items()
        if any(_selects(s, code, *owner) for s in select)
        and not any(_selects(s, code, *owner) for s in ignore)
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
    "every_rule",
    "families",
    "manifest_is_registry",
    "order_codemods",
    "prerequisites",
    "resolve_selection",
]
