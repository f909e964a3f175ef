"""The serializer codemod's state and the lookups every rule makes: qualified names,
parents, the event loop, local bindings, FastAPI path operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import (
    Assignment,
    ImportAssignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.helpers import LoopContext, loop_context, remove_import_if_unused
from asyncfix.codemods.serializer._shared import within
from asyncfix.codemods.serializer.orjson_calls import DumpsArgs
from asyncfix.codemods.serializer.sites import ROUTES


@dataclass(frozen=True)
class JsonWriter:
    """A json.dump()/json.dumps() whose text may be stored, and where it is."""

    name: str
    where: str  # `Class.method`, `function` or `<module>`
    owner: cst.ClassDef | None


@dataclass(frozen=True)
class Sink:
    """Where a json.dumps result goes: a response body, and the type it takes there."""

    takes: str  # "str", "bytes" or "any"
    starlette: bool


@dataclass
class DumpsSite:
    """The decision for one json.dumps call, shared by the call and the Response around it."""

    code: str
    message: str
    reason: str | None = None
    mapped: DumpsArgs | None = None
    orjson: str = "orjson"
    import_orjson: bool = False
    decode: bool = False
    strip_encode: cst.Call | None = None  # `json.dumps(x).encode()`: the .encode() call
    orjson_response: bool = False  # the Response around it becomes ORJSONResponse instead


class SerializerBase(AsyncfixCodemod):
    """What the rule mixins share; `Serializer` puts them together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dumps: dict[cst.Call, DumpsSite] = {}
        self._strip: set[cst.Call] = set()
        self._routes: dict[cst.FunctionDef, bool] = {}
        self._imports_pandas = False
        self._names: frozenset[str] = frozenset()  # call names that may be a site
        self._writers: list[JsonWriter] | None = None  # json.dump(s) calls that may store

    # -- small lookups -------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> str | None:
        """The one qualified name of `node`; None when there are none or several."""
        names = self.get_metadata(QualifiedNameProvider, node, set())
        return next(iter(names)).name if len(names) == 1 else None

    def _sent_only(self, call: cst.Call, function: cst.FunctionDef) -> bool:
        """Does the text of this json.dumps() call go only to JSON response bodies? (The
        dumps rules know; a json writer that is only sent is not stored.)"""
        return False

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _on_loop(self, node: cst.CSTNode) -> tuple[Scope, LoopContext] | None:
        scope = self.get_metadata(ScopeProvider, node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return None
        return scope, where

    def _local_assignments(
        self, name: cst.Name, function: cst.FunctionDef
    ) -> list[Assignment] | None:
        """The bindings of `name` where it is used, if all are made in `function` (its body
        or its comprehensions); None for module state, a closure variable, an import."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        found = list(scope[name.value])
        if not found or not all(
            isinstance(a, Assignment)
            and not isinstance(a, ImportAssignment)
            and within(a.scope, function)
            for a in found
        ):
            return None
        return found  # type: ignore[return-value]

    def _assigned_value(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        """The value of `name = value` when `target` is the only target."""
        parent = self._parent(target)
        assign = self._parent(parent) if isinstance(parent, cst.AssignTarget) else None
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign.value
        return None

    def _name_free_or_is(self, scope: Scope, name: str, qualified: str) -> bool:
        """May `name` be used (and imported) here to mean `qualified`?"""
        if name not in scope:
            return True
        for assignment in scope[name]:
            node = getattr(assignment, "node", None)
            if not isinstance(assignment, ImportAssignment) or not isinstance(node, cst.ImportFrom):
                return False
            module = cst.Module([]).code_for_node(node.module) if node.module else ""
            if isinstance(node.names, cst.ImportStar) or not any(
                f"{module}.{alias.evaluated_name}" == qualified and alias.asname is None
                for alias in node.names
            ):
                return False
        return True

    # -- FastAPI path operations ----------------------------------------------------------

    def _is_route(self, function: cst.FunctionDef) -> bool:
        """An async path operation of a FastAPI()/APIRouter() made in this module."""
        if function not in self._routes:
            self._routes[function] = any(
                self._is_route_decorator(d.decorator) for d in function.decorators
            )
        return self._routes[function]

    def _is_route_decorator(self, decorator: cst.BaseExpression) -> bool:
        app = ROUTES.app_in_cst(decorator)
        if app is None:
            return False
        scope = self.get_metadata(ScopeProvider, app, None)
        if scope is None or app.value not in scope:
            return False
        assignments = list(scope[app.value])
        for assignment in assignments:
            if isinstance(assignment, ImportAssignment) or not isinstance(assignment, Assignment):
                return False
            value = self._assigned_value(assignment.node)
            if not isinstance(value, cst.Call) or self._qualified(value) not in ROUTES.apps:
                return False
        return bool(assignments)

    def _uses_orjson(self, scope: Scope, replaced: cst.Call, *, import_orjson: bool) -> None:
        if import_orjson:
            AddImportsVisitor.add_needed_import(self.context, "orjson")
        remove_import_if_unused(self.context, scope, replaced.func)
        self.require_package("orjson")
