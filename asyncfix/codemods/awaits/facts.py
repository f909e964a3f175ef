"""The project facts AF501 reads: a module's coroutines, classes, return types and
module-level library instances, from its index entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from asyncfix.codemods.awaits._shared import (
    KEEPS_FUNCTION,
    canonical,
    item_class,
    last_part,
    strip_annotation,
)
from asyncfix.codemods.awaits.table_words import CLASS_TOKENS
from asyncfix.codemods.shared.routes import ROUTE_METHODS
from asyncfix.data import coroutines as table
from asyncfix.index import ModuleInfo, ValueShape, classes_of, spells_any


@dataclass
class ProjectFacts:
    """What the plan knows about the project's own code that this module may call."""

    coroutines: set[str] = field(default_factory=set)  # qualnames of project async defs
    classes: set[str] = field(default_factory=set)  # qualnames of project classes
    returns: dict[str, str] = field(default_factory=dict)  # function -> return type
    # Method names that are async in one class and sync in another: an override may
    # change what `obj.name()` returns, so such calls are never awaited.
    ambiguous: set[str] = field(default_factory=set)
    # Module-level names holding a table class's instance (`app.db.feeds`, a collection),
    # and project names that re-export a table class (`app.database.AsyncSession`).
    variables: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    # Project classes that inherit a table class meant to be subclassed (a beanie
    # Document), through project bases too; and, by table class, every name the project's
    # subclasses define: one of them may override the library's method on any instance.
    inherited: dict[str, str] = field(default_factory=dict)
    overridden: dict[str, list[str]] = field(default_factory=dict)
    defines: dict[str, list[str]] = field(default_factory=dict)  # class -> its chain's names

    def as_plan(self) -> dict[str, Any]:
        return {
            "coroutines": sorted(self.coroutines),
            "classes": sorted(self.classes),
            "returns": dict(sorted(self.returns.items())),
            "ambiguous": sorted(self.ambiguous),
            "variables": dict(sorted(self.variables.items())),
            "aliases": dict(sorted(self.aliases.items())),
            "inherited": dict(sorted(self.inherited.items())),
            "overridden": {k: sorted(v) for k, v in sorted(self.overridden.items())},
            "defines": {k: sorted(v) for k, v in sorted(self.defines.items())},
        }

    @classmethod
    def from_plan(cls, data: Mapping[str, Any] | None) -> ProjectFacts:
        if not data:
            return cls()
        return cls(
            set(data["coroutines"]),
            set(data["classes"]),
            dict(data["returns"]),
            set(data["ambiguous"]),
            dict(data.get("variables", {})),
            dict(data.get("aliases", {})),
            dict(data.get("inherited", {})),
            {k: list(v) for k, v in data.get("overridden", {}).items()},
            {k: list(v) for k, v in data.get("defines", {}).items()},
        )

    def merge(self, other: ProjectFacts) -> None:
        self.coroutines |= other.coroutines
        self.classes |= other.classes
        self.returns.update(other.returns)
        self.ambiguous |= other.ambiguous
        self.variables.update(other.variables)
        self.aliases.update(other.aliases)
        self.inherited.update(other.inherited)
        self.defines.update(other.defines)
        for base, names in other.overridden.items():
            self.overridden[base] = sorted({*self.overridden.get(base, ()), *names})

    def class_name(self, resolved: str) -> str:
        """The table's name of a resolved class name, through project re-exports too."""
        return self.aliases.get(resolved) or canonical(resolved)

    def method_names(self) -> set[str]:
        return {q.rsplit(".", 1)[1] for q in self.coroutines if q.rsplit(".", 1)[0] in self.classes}


def module_facts(info: ModuleInfo) -> ProjectFacts:
    """The project facts one module contributes (from its index entry: no tree needed)."""
    facts = ProjectFacts()
    kinds: dict[str, set[bool]] = {}
    for fn in info.functions.values():
        if "<locals>" in fn.qualname:
            continue
        # A decorator may return anything but the coroutine function; only these do not.
        plain = all(
            d in KEEPS_FUNCTION or d.rsplit(".", 1)[-1] in ROUTE_METHODS for d in fn.decorators
        )
        if fn.is_async and not fn.yields and plain:
            facts.coroutines.add(fn.qualname)
        if fn.class_name is not None:
            facts.classes.add(fn.qualname.rsplit(".", 1)[0])
            kinds.setdefault(fn.name, set()).add(fn.is_async and not fn.yields and plain)
    facts.ambiguous = {name for name, seen in kinds.items() if len(seen) > 1}
    facts.classes.update(f"{info.name}.{name}" for name in info.classes)
    for name, annotation in info.returns:
        returned = info.resolve(strip_annotation(annotation))
        if returned:
            facts.returns[f"{info.name}.{name}"] = returned
    if _SPELLS_CLASS_TOKEN(info.data):
        facts.variables, facts.aliases = _module_values(info)
    if b"class " in info.data and any(word in info.data for word in SUBCLASSED_WORDS):
        classes = class_bases(info)
        while inherit(classes, facts):
            pass  # a project base defined below its subclass: one more round
    return facts


_SPELLS_CLASS_TOKEN = spells_any(CLASS_TOKENS)
# Table classes a project subclasses, and how their names are spelled.
SUBCLASSED = frozenset(table.SUBCLASSED)
SUBCLASSED_WORDS = frozenset(last_part(name).encode() for name in SUBCLASSED)
ClassBases = dict[str, tuple[list[str], set[str]]]


def class_bases(info: ModuleInfo) -> ClassBases:
    """The module's top-level classes: qualname -> (resolved bases, names its body binds).
    From the index's facts (no tree) where it made them: a module spelling `class `."""
    return {
        f"{info.name}.{name}": ([canonical(base) for base in bases], set(defined))
        for name, bases, defined in classes_of(info)
    }


def inherit(classes: ClassBases, facts: ProjectFacts) -> bool:
    """Adds to `facts` the classes whose base is a subclassed table class or a class
    already inherited; True when one was added."""
    added = False
    for name, (bases, defined) in classes.items():
        if name in facts.inherited:
            continue
        for base in bases:
            library = base if base in SUBCLASSED else facts.inherited.get(base)
            if library is not None:
                facts.inherited[name] = library
                facts.defines[name] = sorted({*defined, *facts.defines.get(base, ())})
                facts.overridden[library] = sorted({*facts.overridden.get(library, ()), *defined})
                added = True
                break
    return added


def _module_values(info: ModuleInfo) -> tuple[dict[str, str], dict[str, str]]:
    """(module-level names bound once to an instance of a table class, by constructor,
    factory or item chain; imports of a table class, which other modules may name through
    this one: `from app.database import AsyncSession`)."""
    aliases = {
        f"{info.name}.{local}": canonical(target)
        for local, target in info.imports.items()
        if canonical(target) in table.CLASSES
    }
    found: dict[str, str | None] = {}
    for name, shape in info.values:  # (the index's facts: no tree needed)
        # Bound twice: which value a user sees is not known.
        found[name] = None if name in found else _module_value(shape, found)
    variables = {f"{info.name}.{k}": v for k, v in found.items() if v is not None}
    return variables, aliases


def _module_value(shape: ValueShape, found: Mapping[str, str | None]) -> str | None:
    """The table class of a module-level value (see index.ValueShape): `Client(...)`,
    `factory(...)` (RETURNS), a name bound before, or an item of one
    (`client.appdb.feeds`, `client["appdb"]`)."""
    if shape is None:
        return None
    if shape[0] == "name":
        return found.get(shape[1])
    if shape[0] == "item":
        return item_class(_module_value(shape[1], found), shape[2])
    callee = shape[1]
    if callee is None:
        return None
    callee = canonical(callee)
    if callee in table.CLASSES:
        return callee
    returned = table.RETURNS.get(callee)
    return canonical(returned) if returned else None


def method_kinds(info: ModuleInfo) -> dict[str, set[bool]]:
    """Method name -> {is a coroutine method} over the classes of one module."""
    kinds: dict[str, set[bool]] = {}
    for fn in info.functions.values():
        if fn.class_name is not None and "<locals>" not in fn.qualname:
            kinds.setdefault(fn.name, set()).add(fn.is_async and not fn.yields)
    return kinds
