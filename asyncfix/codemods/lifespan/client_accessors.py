"""AF302 for a client of a module without the app (see `plan_lazy`): an accessor that
creates it on first use replaces it, and every read of it calls the accessor. The first
pass of ImportTimeClient (which moves the clients of the app's own module)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node
from libcst.metadata import Access, ImportAssignment, Scope, ScopeProvider

from asyncfix.codemods.lifespan.family import LifespanCodemod


class AccessorPass(LifespanCodemod):
    """Plans and makes the accessor rewrites; ImportTimeClient's visit_Module fills them."""

    accessors: dict[int, list[cst.BaseStatement]]  # id(statement) -> its new code
    accessor_reads: dict[int, str]  # id(Name / Attribute) -> getter to call
    accessor_aliases: dict[int, str]  # id(ImportAlias) -> getter it imports

    def start_accessors(self) -> None:
        self.accessors = {}
        self.accessor_reads = {}
        self.accessor_aliases = {}

    def _global_scope(self, module: cst.Module) -> Scope:
        scope = self.get_metadata(ScopeProvider, module)
        assert scope is not None
        return scope

    def _plan_accessor(
        self,
        node: cst.Module,
        stmt: cst.CSTNode,
        name: str,
        call: cst.Call,
        close: str,
        lazy: Sequence[str | None],
    ) -> None:
        """A client of a module without the app: created by an accessor on first use."""
        holder, getter, closer, note = lazy
        assert holder is not None and getter is not None and closer is not None
        where = note or f"closed by {closer}() in the app's lifespan"
        message = (
            "client created at import time and never closed: now created on first use, "
            f"inside the event loop, by {getter}(); {where}"
        )
        if not self.report(call, "AF302", message, structural=True):
            return
        assert isinstance(stmt, cst.SimpleStatementLine)
        kind = node.code_for_node(call.func)
        self.accessors[id(stmt)] = accessor_statements(
            stmt, kind, call, close, holder, getter, closer
        )
        for access in module_uses(self._global_scope(node), name):
            self.accessor_reads[id(access.node)] = getter

    def _plan_accessor_uses(self, node: cst.Module, entry: Mapping[str, Any]) -> None:
        """A module reading another module's client: each read calls its accessor."""
        scope = self._global_scope(node)
        for use in entry.get("lazy_uses", []):
            getter = use["getter"]
            for local in use["locals"]:
                for assignment, alias in from_imports(scope, local):
                    message = (
                        f"client created at import time in another module: read it through "
                        f"{getter}(), which creates it on first use"
                    )
                    if not self.report(alias, "AF302", message, structural=True):
                        continue
                    self.accessor_aliases[id(alias)] = getter
                    for access in assignment.references:
                        self.accessor_reads[id(access.node)] = getter
            dotted = set(use["dotted"])
            for attribute in m.findall(node, m.Attribute()):
                if get_full_name_for_node(attribute) in dotted:
                    assert isinstance(attribute, cst.Attribute)
                    self.accessor_reads[id(attribute)] = getter

    def leave_ImportAlias(
        self, original_node: cst.ImportAlias, updated_node: cst.ImportAlias
    ) -> cst.ImportAlias:
        getter = self.accessor_aliases.get(id(original_node))
        if getter is None:
            return updated_node
        return updated_node.with_changes(name=cst.Name(getter), asname=None)

    def _resorted(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        """A renamed import's names in the order its sorter wanted before, if they were."""
        if isinstance(original.names, cst.ImportStar) or isinstance(updated.names, cst.ImportStar):
            return updated
        if not any(id(a) in self.accessor_aliases for a in original.names):
            return updated
        before = [_sort_key(a) for a in original.names]
        if before != sorted(before):
            return updated
        names = list(updated.names)
        ordered = sorted(names, key=_sort_key)
        return updated.with_changes(
            names=[a.with_changes(comma=n.comma) for a, n in zip(ordered, names, strict=True)]
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        getter = self.accessor_reads.get(id(original_node))
        if getter is None:
            return updated_node
        return call_of(updated_node.with_changes(attr=cst.Name(getter)), updated_node)


def module_uses(scope: Scope, name: str) -> list[Access]:
    """Every read of the module-level `name`, from any scope."""
    return [access for assignment in scope[name] for access in assignment.references]


def from_imports(scope: Scope, local: str) -> Iterator[tuple[ImportAssignment, cst.ImportAlias]]:
    """Each `from x import name [as local]` binding `local` in `scope`, with its alias."""
    for assignment in scope[local]:
        if not isinstance(assignment, ImportAssignment) or not isinstance(
            assignment.node, cst.ImportFrom
        ):
            continue
        names = assignment.node.names
        assert not isinstance(names, cst.ImportStar)
        yield assignment, next(a for a in names if (a.evaluated_alias or a.evaluated_name) == local)


def _sort_key(alias: cst.ImportAlias) -> tuple[int, str]:
    """isort's and ruff's default order of imported names: constants, classes, the rest."""
    name = alias.evaluated_alias or alias.evaluated_name
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, (alias.evaluated_name + " " + (alias.evaluated_alias or "")).lower()


def call_of(func: cst.BaseExpression, was: cst.BaseExpression) -> cst.Call:
    """`func()` in the parentheses `was` stood in."""
    bare = func.with_changes(lpar=[], rpar=[])
    return cst.Call(func=bare, lpar=was.lpar, rpar=was.rpar)


_ACCESSOR = '''
{holder}: "{kind} | None" = None


def {getter}() -> {kind}:
    """The shared client, created on first use: inside the running event loop."""
    global {holder}
    if {holder} is None:
        {holder} = CREATE
    return {holder}


async def {closer}() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global {holder}
    instance, {holder} = {holder}, None
    if instance is not None:
        await instance.{close}()
'''


def accessor_statements(
    stmt: cst.SimpleStatementLine,
    kind: str,
    create: cst.Call,
    close: str,
    holder: str,
    getter: str,
    closer: str,
) -> list[cst.BaseStatement]:
    """`NAME = <create>` as a holder, its getter and its closer; the statement's comments
    and the call itself (its bytes) are kept."""
    code = _ACCESSOR.format(holder=holder, kind=kind, getter=getter, closer=closer, close=close)
    body: list[cst.BaseStatement] = list(cst.parse_module(code).body)
    body = [b.visit(_Substitute(create)) for b in body]  # type: ignore[misc]
    first = cst.ensure_type(body[0], cst.SimpleStatementLine)
    body[0] = first.with_changes(
        leading_lines=stmt.leading_lines, trailing_whitespace=stmt.trailing_whitespace
    )
    return body


class _Substitute(cst.CSTTransformer):
    """The placeholder CREATE of the template -> the original call."""

    def __init__(self, create: cst.Call) -> None:
        super().__init__()
        self.create = create

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.create if updated_node.value == "CREATE" else updated_node
