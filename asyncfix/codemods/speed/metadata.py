"""libcst metadata made from walks over the nodes' fields instead of visits that rebuild
every node: parents, expression contexts and qualified names, served to libcst's scope
analysis through `FastWrapper` (tests/test_metadata.py checks them equal to libcst's)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from operator import attrgetter
from typing import Any, Literal, TypeVar

import libcst as cst
from libcst.metadata import (
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    QualifiedName,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix.codemods.speed.traversal import (
    kinds_below,
    remember_kinds,
    visit_order,
)

_NodeT = TypeVar("_NodeT", bound=cst.CSTNode)


# Node type -> the values of its child fields in `visit_order`, read at once (one
# attrgetter call); None where that order could not be read.
_FIELD_VALUES: dict[type[cst.CSTNode], Callable[[cst.CSTNode], Any] | None] = {}


def _field_values(node: cst.CSTNode) -> Callable[[cst.CSTNode], Any] | None:
    order = visit_order(node)
    found: Callable[[cst.CSTNode], Any] | None
    if order is None:
        found = None
    elif len(order) > 1:
        found = attrgetter(*(name for name, _ in order))
    else:
        # (an attrgetter of one name gives the value itself, not a tuple of it)
        found = _one_field(order[0][0]) if order else _no_fields
    _FIELD_VALUES[type(node)] = found
    return found


def _no_fields(node: cst.CSTNode) -> tuple[()]:
    return ()


def _one_field(name: str) -> Callable[[cst.CSTNode], tuple[Any]]:
    def value(node: cst.CSTNode) -> tuple[Any]:
        return (getattr(node, name),)

    return value


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children, read from its fields: the nodes libcst's `.children` gives,
    in its order, without the visit that rebuilds the node (tests/test_traversal.py)."""
    kind = type(node)
    values = _FIELD_VALUES[kind] if kind in _FIELD_VALUES else _field_values(node)
    if values is None:
        return list(node.children)  # a type whose order could not be read: libcst's way
    found: list[cst.CSTNode] = []
    # `traversal.field_nodes` of each field, inline: this runs for every node of a tree.
    for value in values(node):
        kind = type(value)
        if kind is tuple or kind is list:
            found += value
        elif value is not None and kind is not cst.MaybeSentinel:
            found.append(value)
    return found


def parent_map(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode] | None:
    """Node -> its parent, as libcst's ParentNodeProvider gives it; None when a node
    object occurs twice in the tree (then which parent wins depends on libcst's walk).

    libcst's provider walks the tree with a visitor and asks each node for `.children`:
    both rebuild every node. Reading the dataclass fields is several times faster."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [module]
    pop, added = stack.pop, 0
    while stack:
        node = pop()
        children = child_nodes(node)
        # (a node's hash is a Python call: each child is hashed once, no `in` test)
        for child in children:
            parents[child] = node
        stack += children
        added += len(children)
    # A node object met twice was entered twice (a tree has no cycles) and counted twice.
    return parents if added == len(parents) else None


def function_defs(root: cst.CSTNode) -> list[cst.FunctionDef]:
    """Every `def` under `root` (itself included), in the order of the source: what
    `m.findall(root, m.FunctionDef())` finds, without its visit that rebuilds each node.
    (`child_nodes` lists children in source order.)"""
    found: list[cst.FunctionDef] = []
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if type(node) is cst.FunctionDef:  # (an ABC: `isinstance` is slow)
            found.append(node)
        stack.extend(reversed(child_nodes(node)))
    return found


def nodes_of(root: cst.CSTNode, kind: type[_NodeT]) -> list[_NodeT]:
    """Every node of exactly type `kind` under `root` (itself included), in the order of
    the source: `m.findall(root, m.<Kind>())` for a node type with no subclasses, without
    a matcher tested at every node."""
    found: list[_NodeT] = []
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if type(node) is kind:
            found.append(node)
        stack.extend(reversed(child_nodes(node)))
    return found


_STORE, _LOAD, _DEL = ExpressionContext.STORE, ExpressionContext.LOAD, ExpressionContext.DEL
# Nodes whose expression context is their own: set, then their children carry it on.
_HAS_CONTEXT = frozenset({cst.Tuple, cst.List, cst.StarredElement})
# The node types `expression_contexts` has a rule for (the others pass theirs down).
_OWN_RULES = frozenset(
    {cst.Name, cst.Attribute, cst.Subscript, cst.Assign, cst.AnnAssign, cst.AugAssign}
    | {cst.NamedExpr, cst.AsName, cst.CompFor, cst.For, cst.Del, cst.ClassDef}
    | {cst.FunctionDef, cst.Param}
)


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """ExpressionContextProvider's metadata (the scope analysis needs it), by the same
    rules as libcst's visitor, from a walk over the nodes' fields instead of a visit that
    rebuilds every node. Call it only on a tree without repeated nodes (`parent_map`)."""
    found: dict[cst.CSTNode, ExpressionContext] = {}
    stack: list[tuple[cst.CSTNode | None, ExpressionContext]] = [(module, _LOAD)]
    push, pop = stack.append, stack.pop
    while stack:
        node, context = pop()
        if node is None:
            continue
        # Exact types: `isinstance` against libcst's node classes (ABCs) is much slower.
        # Most nodes have no rule of their own: one set lookup, not the chain below.
        kind = type(node)
        if kind not in _OWN_RULES:
            if kind in _HAS_CONTEXT:
                found[node] = context
            stack += [(child, context) for child in child_nodes(node)]
        elif type(node) is cst.Name:
            found[node] = context
        elif type(node) is cst.Attribute:
            found[node] = context
            push((node.value, _LOAD))  # not `attr`: as in ast, it has no context
        elif type(node) is cst.Subscript:
            found[node] = context
            push((node.value, _LOAD))
            stack.extend((element, _LOAD) for element in node.slice)
        elif type(node) is cst.Assign:
            stack.extend((target, _STORE) for target in node.targets)
            push((node.value, context))
        elif type(node) is cst.AnnAssign:
            stack += [(node.target, _STORE), (node.annotation, context), (node.value, context)]
        elif type(node) is cst.AugAssign or type(node) is cst.NamedExpr:
            stack += [(node.target, _STORE), (node.value, context)]
        elif type(node) is cst.AsName:
            push((node.name, _STORE))
        elif type(node) is cst.CompFor:
            stack += [(node.target, _STORE), (node.iter, context), (node.inner_for_in, context)]
            stack.extend((test, context) for test in node.ifs)
        elif type(node) is cst.For:
            stack += [(node.target, _STORE), (node.iter, context), (node.body, context)]
            push((node.orelse, context))
        elif type(node) is cst.Del:
            push((node.target, _DEL))
        elif type(node) is cst.ClassDef:
            stack += [(node.name, _STORE), (node.body, context)]
            stack.extend((child, context) for child in (*node.bases, *node.keywords))
            stack.extend((decorator, context) for decorator in node.decorators)
        elif type(node) is cst.FunctionDef:
            stack += [(node.name, _STORE), (node.params, context), (node.body, context)]
            stack.extend((decorator, context) for decorator in node.decorators)
            push((node.returns, context))
        elif type(node) is cst.Param:
            stack += [(node.name, _STORE), (node.annotation, context), (node.default, context)]
    return found


class _QualifiedNames(Mapping[cst.CSTNode, Collection[QualifiedName]]):
    """QualifiedNameProvider's answers, worked out for the nodes asked about. libcst's
    provider walks the whole tree once more to attach to every node the same lazy
    `scope.get_qualified_names_for(node)` that this computes on demand."""

    def __init__(
        self,
        module: cst.Module,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
        scopes: Mapping[cst.CSTNode, Scope | None],
    ) -> None:
        self._module, self._parents, self._scopes = module, parents, scopes
        self._found: dict[cst.CSTNode, Collection[QualifiedName]] = {}

    def __getitem__(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        if node not in self._found:
            if node is not self._module and node not in self._parents:
                raise KeyError(node)  # not in this tree (as libcst: the caller's default)
            scope = self._scopes.get(node)
            self._found[node] = scope.get_qualified_names_for(node) if scope else set()
        return self._found[node]

    def __iter__(self) -> Iterator[cst.CSTNode]:
        yield self._module
        yield from self._parents

    def __len__(self) -> int:
        return len(self._parents) + 1


class FastWrapper(MetadataWrapper):
    """A MetadataWrapper whose parents come from `parent_map`, expression contexts (for
    libcst's scope analysis) from `expression_contexts`, and qualified names from
    `_QualifiedNames`: on real code libcst's ParentNodeProvider took more time than the
    scope analysis, and the other two providers a full walk of the tree each."""

    _parents: dict[cst.CSTNode, cst.CSTNode] | Literal[False] | None = False
    _kinds: dict[int, int] | None = None

    def parents(self) -> dict[cst.CSTNode, cst.CSTNode] | None:
        """`parent_map` of the tree, made once."""
        if self._parents is False:
            self._parents = parent_map(self.module)
        return self._parents

    def kinds(self) -> dict[int, int] | None:
        """`traversal.kinds_below` of the tree, made once, for the visits of it in the
        open `fast_visits()` block; None where a node object occurs twice in it (see
        `parent_map`)."""
        if self._kinds is None:
            parents = self.parents()
            if parents is None:
                return None
            self._kinds = kinds_below(self.module, parents)
        remember_kinds(self.module, self._kinds)
        return self._kinds

    def resolve_many(
        self, providers: Collection[Any]
    ) -> Mapping[Any, Mapping[cst.CSTNode, object]]:
        # Resolved metadata lives in `_metadata`; libcst skips the providers found there.
        wanted = [
            p for p in (ParentNodeProvider, QualifiedNameProvider, ScopeProvider) if p in providers
        ]
        if any(p not in self._metadata for p in wanted):
            parents = self.parents()
            if parents is not None:
                self._metadata[ParentNodeProvider] = parents
                if ExpressionContextProvider not in self._metadata:
                    self._metadata[ExpressionContextProvider] = expression_contexts(self.module)
                if QualifiedNameProvider in wanted:
                    scopes = self.resolve(ScopeProvider)
                    self._metadata[QualifiedNameProvider] = _QualifiedNames(
                        self.module, parents, scopes
                    )
        return super().resolve_many(providers)


def release_scopes(wrapper: MetadataWrapper) -> None:
    """Break the reference cycles of the scopes resolved on `wrapper`'s tree, once nothing
    will ask them again: a scope holds its assignments and accesses, which hold it back
    (and the global and builtin scopes each other). Reference counting then frees them
    with the nodes they hold, where a full collection had to walk them all (the
    collection after each file libcst parsed, see workers.free_parsed)."""
    resolved = wrapper._metadata.get(ScopeProvider)
    if not resolved:
        return
    todo = [scope for scope in set(resolved.values()) if isinstance(scope, Scope)]
    seen: set[int] = set()
    while todo:
        scope = todo.pop()
        if id(scope) in seen:
            continue
        seen.add(id(scope))
        fields = vars(scope)
        todo.extend(s for s in (fields.get("parent"), fields.get("globals")) if s is not None)
        # (an Access holds its scope and assignments, never the other way round once those
        # are cleared: it has slots, and is left as it is)
        for assignments in fields.get("_assignments", {}).values():
            for assignment in assignments:
                vars(assignment).clear()
        fields.clear()


_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
# Node type -> is it a statement (`isinstance` against libcst's ABCs costs, per node).
_IS_STATEMENT: dict[type[cst.CSTNode], bool] = {}


def is_statement(node: cst.CSTNode) -> bool:
    kind = type(node)
    found = _IS_STATEMENT.get(kind)
    if found is None:
        found = _IS_STATEMENT[kind] = issubclass(kind, _STATEMENTS)
    return found
