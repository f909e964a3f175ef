"""The project-wide plan: each module gets the facts of the project modules it imports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asyncfix.codemods.awaits.facts import (
    SUBCLASSED_WORDS,
    ProjectFacts,
    class_bases,
    inherit,
    method_kinds,
    module_facts,
)
from asyncfix.codemods.awaits.table_words import CLASS_TOKENS
from asyncfix.index import ModuleInfo, ProjectIndex


def _imported_providers(
    info: ModuleInfo,
    providers: Mapping[str, ProjectFacts],
    under: Mapping[str, set[str]],
) -> list[str]:
    """The providers (in their order) that an import of `info` names: the provider itself,
    a name inside it, or a package above it. `under`: package -> the providers below it
    (see `_packages`), so that this is not a scan of every provider per import."""
    found: set[str] = set()
    for target in set(info.imports.values()):
        parts = target.split(".")
        found.update(p for i in range(1, len(parts) + 1) if (p := ".".join(parts[:i])) in providers)
        found |= under.get(target, set())
    found.discard(info.name)
    return [name for name in providers if name in found]


def _packages(providers: Mapping[str, ProjectFacts]) -> dict[str, set[str]]:
    """Package -> the providers strictly below it."""
    under: dict[str, set[str]] = {}
    for name in providers:
        parts = name.split(".")
        for i in range(1, len(parts)):
            under.setdefault(".".join(parts[:i]), set()).add(name)
    return under


def _ambiguous(index: ProjectIndex, names: set[str], indexed: Sequence[ModuleInfo]) -> set[str]:
    """Those of `names` that are a coroutine method in one class and a plain one in
    another, over the project. The modules already indexed are looked at first: a name
    found both ways there needs no more modules parsed (common names: get, close ...)."""
    kinds: dict[str, set[bool]] = {}

    def add(info: ModuleInfo) -> None:
        for name, seen in method_kinds(info).items():
            if name in names:
                kinds.setdefault(name, set()).update(seen)

    seen_paths = set()
    for info in indexed:
        if info.path not in seen_paths and b"class " in info.data:
            seen_paths.add(info.path)
            add(info)
    # Only a module with a `def` of a name still open can settle it: only those are parsed.
    open_names = {name for name in names if len(kinds.get(name, ())) < 2}
    for info, _ in index.naming(open_names, b"class ", defined=True):
        if info.path not in seen_paths:
            add(info)
    return {name for name, seen in kinds.items() if len(seen) > 1}


def _subclasses(
    index: ProjectIndex, providers: dict[str, ProjectFacts], defining: list[ModuleInfo]
) -> None:
    """Adds the modules whose classes inherit a subclassed table class (a beanie Document),
    through project bases in other modules too, to the providers; every such provider gets
    the names all of them define (`ProjectFacts.overridden`)."""
    found = ProjectFacts()
    modules = {
        info.name: info for info in index.modules(*SUBCLASSED_WORDS) if b"class " in info.data
    }
    for _ in range(8):  # each round reaches one more level of project bases
        added = False
        for info in modules.values():
            added |= inherit(class_bases(info), found)
        if not added:
            break
        names = {name.rsplit(".", 1)[1] for name in found.inherited}
        modules.update((info.name, info) for info, _ in index.naming(names, b"class "))
    for name, info in modules.items():
        own = {c: base for c, base in found.inherited.items() if c.rsplit(".", 1)[0] == name}
        if not own:
            continue
        if name not in providers:
            providers[name] = module_facts(info)
            defining.append(info)
        facts = providers[name]
        facts.inherited.update(own)
        facts.defines.update((c, found.defines[c]) for c in own)
        facts.overridden = dict(found.overridden)


def project_plan(index: ProjectIndex) -> Mapping[str, Any] | None:
    """Per consuming module, the facts of the project modules it imports (`ProjectFacts`
    as a plan), and the method names it may call that are ambiguous over the project."""
    # Facts of every module with an async def, handed to each module that imports
    # from it: a module needs only what its imports can name.
    # Modules with a coroutine, and those that may hold a library client or re-export
    # a library class (a module of its own, often with no async def).
    defining = list(
        {info.path: info for info in index.modules(b"async def", *CLASS_TOKENS)}.values()
    )
    providers = {info.name: module_facts(info) for info in defining}
    _subclasses(index, providers, defining)
    if not providers:
        return None
    # A module gets facts only from a provider it imports: the import names the
    # provider's top-level package, unless it is relative.
    heads = {name.split(".", 1)[0] for name in providers}
    paths = frozenset(info.path for info in defining)
    # A run given some files reads the entries of those alone: only they are made.
    consumers = [
        info
        for info, _ in index.naming(
            heads, b"async", relative_imports=True, keep=paths, among=index.given
        )
    ]
    # Only the coroutine method names a consumer can call can be needed as ambiguous:
    # its own and those of the providers it imports.
    under = _packages(providers)
    imported = {info.path: _imported_providers(info, providers, under) for info in consumers}
    wanted: dict[str, set[str]] = {}
    for info in consumers:
        own = providers.get(info.name, ProjectFacts())
        wanted[info.path] = own.method_names().union(
            *(providers[name].method_names() for name in imported[info.path])
        )
    names = set().union(*wanted.values())
    # Whether a name is ambiguous is a fact of the whole project, whichever modules
    # `_ambiguous` looks at first: its search by `def` finds every other module defining
    # an ASCII name. A non-ASCII one may be spelt in a file's own encoding, which that
    # search does not read: then every consumer is looked at first, as in a full run.
    seen = consumers
    if index.given is not None and not all(name.isascii() for name in names):
        seen = [
            info for info, _ in index.naming(heads, b"async", relative_imports=True, keep=paths)
        ]
    ambiguous = _ambiguous(index, names, [*defining, *seen])
    plans: dict[str, Any] = {}
    for info in consumers:
        needed = ProjectFacts()
        own = providers.get(info.name, ProjectFacts())
        # Only the names this module could call, and only what it cannot see itself.
        needed.ambiguous = (ambiguous - own.ambiguous) & wanted[info.path]
        for name in imported[info.path]:
            needed.merge(providers[name])
        if any(needed.as_plan().values()):
            plans[info.path] = needed.as_plan()
    return plans
