"""libcst's visits, without rebuilding the nodes nothing changed in.

`CSTNode.visit` rebuilds every node it enters, for a read-only `CSTVisitor` too, and a
rebuild validates the new node: on real code that was most of a codemod's walk and of
libcst's scope analysis. Inside `fast_visits()` a visit calls the visitor's hooks in
the same order with the same arguments, and rebuilds a node (with libcst's own code,
so removals and flattening behave as they always do) only when one of its children
came back changed; otherwise the transformer gets the original node as
`updated_node`. Two of libcst's own hooks, which would test every node against its
abstract node classes, are run with exact types instead: its scope analysis's
`on_leave`, and the matcher-decoratable visitors' per-field hooks where the class has
none for that node type. tests/test_traversal.py checks the hooks' order and the
results against libcst's own visit.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import libcst as cst
from libcst._batched_visitor import BatchableCSTVisitor, _BatchedCSTVisitor
from libcst.matchers import MatcherDecoratableTransformer, MatcherDecoratableVisitor
from libcst.matchers import _decorators as matcher_decorators
from libcst.matchers import _visitors as matcher_visitors
from libcst.metadata import scope_provider

from asyncfix.index import subclasses

_LIBCST_VISIT = cst.CSTNode.visit
# A node type's child fields, in the order its `_visit_and_replace_children` visits them,
# each with whether it is entered only when it is not None; None: visit it with libcst's
# own code (its order could not be read).
Order = tuple[tuple[str, bool], ...]
_ORDER: dict[type[cst.CSTNode], Order | None] = {}


class _FieldRecorder(cst.CSTTransformer):
    """Notes the attributes a node's `_visit_and_replace_children` enters, in order."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        pass


class _VisitCalls(ast.NodeVisitor):
    """The `visit_*(self, "field", ...)` calls of a method, in evaluation order, and
    those under `... if x is not None else None`."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, bool]] = []
        self.guarded = 0

    def visit_IfExp(self, node: ast.IfExp) -> None:
        test = node.test
        guarded = (
            isinstance(test, ast.Compare)
            and isinstance(test.ops[0], ast.IsNot)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        )
        self.guarded += guarded
        self.visit(node.body)
        self.guarded -= guarded
        self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        if (
            isinstance(node.func, ast.Name)
            and node.func.id.startswith("visit_")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and node.args[1].value not in {name for name, _ in self.fields}
        ):
            self.fields.append((node.args[1].value, self.guarded > 0))


def _read_order(node: cst.CSTNode) -> Order | None:
    try:
        source = inspect.getsource(type(node)._visit_and_replace_children)
        calls = _VisitCalls()
        calls.visit(ast.parse(textwrap.dedent(source)))
    except (OSError, TypeError, SyntaxError):
        return None
    # Checked against what the method does on this node.
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    expected = [name for name, guarded in calls.fields if not guarded or getattr(node, name)]
    return tuple(calls.fields) if recorder.fields == expected else None


def visit_order(node: cst.CSTNode) -> Order | None:
    """The child fields of the node's type in libcst's visiting order (see `_ORDER`)."""
    kind = type(node)
    if kind not in _ORDER:
        _ORDER[kind] = _read_order(node)
    return _ORDER[kind]


class _Replay(cst.CSTTransformer):
    """Hands out a transformer's results for a node's children, in visiting order, to
    libcst's `_visit_and_replace_children`, which builds the new node from them."""

    def __init__(self, results: list[Any]) -> None:
        self.results = deque(results)

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        return self.results.popleft()

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        pass

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        pass


def field_nodes(value: Any) -> Sequence[cst.CSTNode]:
    """The nodes in a visited field (exact type checks: CSTNode is an ABC, and
    `isinstance` against one costs several times more)."""
    kind = type(value)
    if kind is tuple or kind is list:
        return value  # type: ignore[no-any-return]
    if value is None or kind is cst.MaybeSentinel:
        return ()
    return (value,)


# libcst's visitor base classes (a no-op for every node type and field) and theirs.
_LIBCST_BASES = frozenset({*cst.CSTVisitor.__mro__, *cst.CSTTransformer.__mro__})
# libcst's attribute hooks that do nothing but call the class's `visit_<Node>_<field>` or
# `leave_<Node>_<field>`, if it has one: the matcher-decoratable visitors' (libcst's
# import visitors are some) check that hook's matcher decorators first.
_FORWARDING_ATTRIBUTE_HOOKS = frozenset(
    getattr(kind, hook)
    for kind in (
        cst.CSTVisitor,
        cst.CSTTransformer,
        MatcherDecoratableVisitor,
        MatcherDecoratableTransformer,
    )
    for hook in ("on_visit_attribute", "on_leave_attribute")
)


def _libcst_scope_on_leave() -> Any:
    """`ScopeVisitor.on_leave` as libcst 1.x writes it, or None if it reads otherwise."""
    expected = (
        "def on_leave(self, original_node: cst.CSTNode) -> None:\n"
        "    self.provider.set_metadata(original_node, self.scope)\n"
        "    if isinstance(original_node, _ASSIGNMENT_LIKE_NODES):\n"
        "        self.scope._assignment_count += 1\n"
        "    super().on_leave(original_node)\n"
    )
    method = scope_provider.ScopeVisitor.on_leave
    try:
        source = textwrap.dedent(inspect.getsource(method))
    except (OSError, TypeError):
        return None
    tuple_ = getattr(scope_provider, "_ASSIGNMENT_LIKE_NODES", None)
    return method if source == expected and isinstance(tuple_, tuple) else None


_SCOPE_ON_LEAVE = _libcst_scope_on_leave()
# Exact types: the node classes are ABCs, and `isinstance` against eighteen of them for
# every node was a tenth of libcst's scope analysis.
_ASSIGNMENT_LIKE = subclasses(getattr(scope_provider, "_ASSIGNMENT_LIKE_NODES", ()))


def _scope_on_leave(visitor: Any, node: cst.CSTNode) -> None:
    """libcst's `ScopeVisitor.on_leave` (see `_libcst_scope_on_leave`), exact types."""
    visitor.provider.set_metadata(node, visitor.scope)
    if type(node) in _ASSIGNMENT_LIKE:
        visitor.scope._assignment_count += 1
    leave = hooks_for(visitor, node).leave  # CSTVisitor.on_leave
    if leave is not None:
        leave(visitor, node)


class _Hooks:
    """What visiting one node type runs of one visitor class (a codemod's on_visit and
    on_leave use it too), found once per visit block (see `fast_visits`) instead of
    libcst's string format and getattr per node and per field. Hooks set on a visitor
    instance rather than its class are not looked for: none of the visitors asyncfix
    runs (its codemods, libcst's providers) has any."""

    __slots__ = ("attributes", "direct", "direct_visit", "leave", "on_leave", "visit")

    def __init__(self, kind: type[Any], node: type[cst.CSTNode], attributes: bool) -> None:
        # Do entering its fields run code? Not with libcst's own attribute hooks and no
        # `visit_<Node>_<field>`/`leave_<Node>_<field>` for this node type.
        self.attributes = attributes
        # A CSTVisitor with libcst's on_visit/on_leave: its visit_<Node>/leave_<Node>
        # (None for libcst's no-op) are called directly.
        self.direct_visit = kind.on_visit is cst.CSTVisitor.on_visit
        self.direct = self.direct_visit and kind.on_leave is cst.CSTVisitor.on_leave
        self.visit = _own(kind, f"visit_{node.__name__}")
        self.leave = _own(kind, f"leave_{node.__name__}")
        # What `_walk` calls on leaving a node when not `direct`.
        on_leave: Callable[[Any, cst.CSTNode], Any] = kind.on_leave
        if _SCOPE_ON_LEAVE is not None and on_leave is _SCOPE_ON_LEAVE:
            on_leave = _scope_on_leave
        self.on_leave = on_leave


def _own(kind: type[Any], name: str) -> Any:
    """The class's `visit_<Node>`/`leave_<Node>`; None where it keeps libcst's no-op."""
    hook = getattr(kind, name, None)
    if hook is getattr(cst.CSTVisitor, name, None) or hook is getattr(
        cst.CSTTransformer, name, None
    ):
        return None
    return hook


# Emptied by every outermost `fast_visits()`, in case a class gained a hook in between.
_HOOKS: dict[tuple[type[Any], type[cst.CSTNode]], _Hooks] = {}
_ATTRIBUTE_TYPES: dict[type[Any], frozenset[str] | None] = {}


def _attribute_types(kind: type[Any]) -> frozenset[str] | None:
    """The node types for which the visitor class has a `visit_<Node>_<field>` or
    `leave_<Node>_<field>` of its own; None when it handles attributes itself."""
    if any(
        getattr(kind, hook) not in _FORWARDING_ATTRIBUTE_HOOKS
        for hook in ("on_visit_attribute", "on_leave_attribute")
    ):
        return None
    found = set()
    for klass in kind.__mro__:
        if klass not in _LIBCST_BASES:
            for name in vars(klass):
                parts = name.split("_", 2)
                if len(parts) == 3 and parts[0] in ("visit", "leave"):
                    found.add(parts[1])
    return frozenset(found)


def hooks_for(visitor: Any, node: cst.CSTNode) -> _Hooks:
    key = (type(visitor), type(node))
    found = _HOOKS.get(key)
    if found is None:
        kind = type(visitor)
        if kind not in _ATTRIBUTE_TYPES:
            _ATTRIBUTE_TYPES[kind] = _attribute_types(kind)
        types = _ATTRIBUTE_TYPES[kind]
        attributes = types is None or type(node).__name__ in types
        found = _HOOKS[key] = _Hooks(kind, type(node), attributes)
    return found


# Node type name -> its bit in the masks `kinds_below` makes (by name: hooks are found by
# name, `visit_<Node>`); a name first seen gets the next bit.
_NAME_BITS: dict[str, int] = {}
_TYPE_BITS: dict[type[cst.CSTNode], int] = {}


def name_bit(name: str) -> int:
    found = _NAME_BITS.get(name)
    if found is None:
        found = _NAME_BITS[name] = 1 << len(_NAME_BITS)
    return found


def type_bit(kind: type[cst.CSTNode]) -> int:
    found = _TYPE_BITS.get(kind)
    if found is None:
        found = _TYPE_BITS[kind] = name_bit(kind.__name__)
    return found


def kinds_below(root: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> dict[int, int]:
    """id of `root` and of each node under it -> the bits (`type_bit`) of its own type and
    of every node type under it, from the tree's parent map (`metadata.parent_map`). A
    node is entered there after its parent (a walk from the root), so in reverse each
    node comes before its parent and is complete when it is added to it."""
    masks: dict[int, int] = {id(root): type_bit(type(root))}
    get, bits = masks.get, _TYPE_BITS
    for child, parent in reversed(parents.items()):
        bit = bits.get(type(child)) or type_bit(type(child))
        mask = masks[id(child)] = get(id(child), 0) | bit
        masks[id(parent)] = get(id(parent), 0) | mask
    return masks


# Visitor classes whose per-node hooks (`on_visit`, `on_leave`, the attribute hooks) do
# nothing but call the `visit_<Node>`/`leave_<Node>` hooks and keep balanced bookkeeping:
# a visitor with these hooks runs nothing of its own in a subtree that holds no node type
# it has a hook for. libcst's matcher-decoratable classes only when the instance has no
# matchers (see `_matcherless`); asyncfix's codemod base adds itself (`skip_when_like`).
_PLAIN_BASES: list[type[Any]] = [
    cst.CSTVisitor,
    cst.CSTTransformer,
    MatcherDecoratableVisitor,
    MatcherDecoratableTransformer,
]
_PER_NODE = ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")
_HOOKED: dict[type[Any], int | None] = {}
# id of a tree's root -> (the root, `kinds_below` of the tree), for the trees whose masks
# were made within the outermost `fast_visits()` block now open (emptied with it).
_TREE_KINDS: dict[int, tuple[cst.CSTNode, dict[int, int]]] = {}


def skip_when_like(base: type[Any]) -> None:
    """Let the subclasses of `base` (whose per-node hooks keep only balanced bookkeeping)
    skip subtrees with no node type they hook."""
    if base not in _PLAIN_BASES:
        _PLAIN_BASES.append(base)
        _HOOKED.clear()


def hooked_bits(kind: type[Any]) -> int | None:
    """The bits of every node type the visitor class `kind` has a `visit_<Node>`,
    `leave_<Node>` or per-field hook for; None where its per-node hooks are not those of
    one of `_PLAIN_BASES` (it may run code at any node)."""
    if kind in _HOOKED:
        return _HOOKED[kind]
    found: int | None = None
    if any(all(getattr(kind, h) is getattr(base, h) for h in _PER_NODE) for base in _PLAIN_BASES):
        found = 0
        for klass in kind.__mro__:
            if klass not in _LIBCST_BASES:
                for name in vars(klass):
                    parts = name.split("_", 2)
                    if len(parts) >= 2 and parts[0] in ("visit", "leave"):
                        found |= name_bit(parts[1])
    _HOOKED[kind] = found
    return found


def _matcherless(visitor: Any) -> bool:
    """Does a matcher-decoratable visitor act as a plain one? With no matcher decorator
    on any method and no `@visit`/`@leave` function, its hooks call the plain ones."""
    return not (visitor._matchers or visitor._extra_visit_funcs or visitor._extra_leave_funcs)


def remember_kinds(root: cst.CSTNode, kinds: dict[int, int]) -> None:
    """`kinds_below` of the tree under `root`, for the visits of `root` in the open
    `fast_visits()` block (outside one, nothing: no visit could use them)."""
    if cst.CSTNode.visit is _visit:
        _TREE_KINDS[id(root)] = (root, kinds)


def _skip_below(root: cst.CSTNode, visitor: Any) -> tuple[dict[int, int], int] | None:
    """(the masks of the tree under `root`, the bits the visitor hooks) when a visit of
    `root` may skip subtrees (see `hooked_bits`); else None."""
    held = _TREE_KINDS.get(id(root))
    if held is None or held[0] is not root:
        return None
    bits = hooked_bits(type(visitor))
    if bits is None:
        return None
    if isinstance(visitor, MatcherDecoratableVisitor | MatcherDecoratableTransformer) and (
        not _matcherless(visitor)
    ):
        return None
    return held[1], bits


# `_walk` and `_transform` each loop over the fields themselves: the hottest code of a
# run, where a shared generator of the children cost a tenth of the rewrite time.
def _walk(
    node: cst.CSTNode, visitor: cst.CSTVisitor, below: tuple[dict[int, int], int] | None
) -> None:
    """`below`: see `_skip_below` (None: enter every node)."""
    order = visit_order(node)
    if order is None:
        _LIBCST_VISIT(node, visitor)
        return
    hooks = hooks_for(visitor, node)
    # (libcst's scope analysis keeps CSTVisitor's on_visit: its hook is called directly)
    if hooks.direct_visit:
        go = hooks.visit is None or hooks.visit(visitor, node) is not False
    else:
        go = visitor.on_visit(node)
    if go:
        attributes = hooks.attributes
        for name, guarded in order:
            value = getattr(node, name)
            if guarded and value is None:
                continue
            if attributes:
                visitor.on_visit_attribute(node, name)
            for child in field_nodes(value):
                # (a subtree with no node type the visitor hooks would run nothing)
                if below is None or below[0].get(id(child), -1) & below[1]:
                    _walk(child, visitor, below)
            if attributes:
                visitor.on_leave_attribute(node, name)
    if not hooks.direct:
        hooks.on_leave(visitor, node)
    elif hooks.leave is not None:
        hooks.leave(visitor, node)


def _transform(
    node: cst.CSTNode, visitor: cst.CSTTransformer, below: tuple[dict[int, int], int] | None
) -> Any:
    """`below`: see `_skip_below` (None: enter every node)."""
    order = visit_order(node)
    if order is None:
        return _LIBCST_VISIT(node, visitor)
    updated = node
    if visitor.on_visit(node):
        results: list[Any] = []
        changed = False
        attributes = hooks_for(visitor, node).attributes
        for name, guarded in order:
            value = getattr(node, name)
            if guarded and value is None:
                continue
            if attributes:
                visitor.on_visit_attribute(node, name)
            for child in field_nodes(value):
                # A subtree with no node type the visitor hooks comes back as it is
                # (a node not in the tree's masks is entered).
                if below is not None and not below[0].get(id(child), -1) & below[1]:
                    results.append(child)
                    continue
                result = _transform(child, visitor, below)
                changed = changed or result is not child
                results.append(result)
            if attributes:
                visitor.on_leave_attribute(node, name)
        if changed:
            updated = node._visit_and_replace_children(_Replay(results))
    result = visitor.on_leave(node, updated)
    # (Most hooks return a node they were given: no `isinstance` against the ABC.)
    if (
        result is not updated
        and result is not node
        and not isinstance(result, cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel)
    ):
        raise cst.CSTValidationError(
            "Expected a node of type CSTNode or a RemovalSentinel, "
            f"but got a return value of {type(result).__name__}"
        )
    return result


_MODULE_HOOKS = frozenset({"visit_Module", "leave_Module"})


def _module_only(visitor: _BatchedCSTVisitor) -> bool:
    """A batch of metadata providers that acts on the Module alone (ScopeProvider, which
    runs its own visitor from `visit_Module`), or an empty batch (libcst makes one after
    every non-batchable provider, PositionProvider included): walking below the Module
    would call nothing."""
    return (
        visitor.before_visit is None
        and visitor.after_leave is None
        and _MODULE_HOOKS.issuperset(visitor.visitor_methods)
    )


def _visit(self: cst.CSTNode, visitor: cst.CSTVisitor | cst.CSTTransformer) -> Any:
    if isinstance(visitor, _BatchedCSTVisitor) and _module_only(visitor):
        if visitor.on_visit(self):
            pass  # no node below can call anything
        visitor.on_leave(self)
        return self
    below = _skip_below(self, visitor) if _TREE_KINDS else None
    if isinstance(visitor, cst.CSTVisitor):
        _walk(self, visitor, below)
        return self
    if isinstance(visitor, cst.CSTTransformer):
        return _transform(self, visitor, below)
    return _LIBCST_VISIT(self, visitor)


# What libcst's matcher decorators set on a function (`libcst.matchers._decorators`).
_DECORATOR_ATTRS = tuple(
    getattr(matcher_decorators, name)
    for name in (
        "CONSTRUCTED_VISIT_MATCHER_ATTR",
        "CONSTRUCTED_LEAVE_MATCHER_ATTR",
        "VISIT_POSITIVE_MATCHER_ATTR",
        "VISIT_NEGATIVE_MATCHER_ATTR",
    )
)
# The three functions a matcher-decoratable visitor's construction (and its first node)
# calls: each looks at every attribute of the instance, through `dir` and `getattr`.
_GATHERERS = (
    "_gather_constructed_visit_funcs",
    "_gather_constructed_leave_funcs",
    "_gather_matchers",
)
_LIBCST_GATHERERS = {name: getattr(matcher_visitors, name) for name in _GATHERERS}
_UNDECORATED: dict[type[Any], bool] = {}


def _decorated(value: Any) -> bool:
    return any(
        getattr(value, attr, None) or getattr(getattr(value, "__func__", None), attr, None)
        for attr in _DECORATOR_ATTRS
    )


@cache
def _libcst_bases_undecorated() -> bool:
    """Do libcst's visitor base classes (their thousand no-op hooks) carry no matcher
    decorator? They are libcst's, the same all the process long: asked once."""
    return not any(_decorated(value) for klass in _LIBCST_BASES for value in vars(klass).values())


def _undecorated(obj: object) -> bool:
    """Does nothing on `obj` (its class's attributes, its own) carry a matcher decorator?
    Then libcst's gatherers would find nothing: an empty result, without their walk of
    every attribute. A class is looked at once per visit block, libcst's visitor bases
    (most of its attributes) once per process."""
    kind = type(obj)
    if kind not in _UNDECORATED:
        _UNDECORATED[kind] = _libcst_bases_undecorated() and not any(
            _decorated(value)
            for klass in kind.__mro__
            if klass not in _LIBCST_BASES
            for value in vars(klass).values()
        )
    own = getattr(obj, "__dict__", None)
    return _UNDECORATED[kind] and not (own and any(_decorated(v) for v in own.values()))


def _gatherer(name: str) -> Callable[[object], dict[Any, Any]]:
    libcst_gather = _LIBCST_GATHERERS[name]

    def gather(obj: object) -> dict[Any, Any]:
        return {} if _undecorated(obj) else libcst_gather(obj)

    return gather


_FAST_GATHERERS = {name: _gatherer(name) for name in _GATHERERS}

_LIBCST_GET_VISITORS = BatchableCSTVisitor.get_visitors
# Batchable visitor class -> (the sizes of its classes' namespaces, the names of its hooks
# as libcst's `get_visitors` found them). Kept across visit blocks: every codemod's
# resolve asks for the same providers' hooks.
_VISITOR_NAMES: dict[type[Any], tuple[tuple[int, ...], tuple[str, ...]]] = {}


def _get_visitors(visitor: BatchableCSTVisitor) -> Mapping[str, Callable[[cst.CSTNode], None]]:
    """libcst's `BatchableCSTVisitor.get_visitors`, which looks at every attribute of the
    instance (`inspect.getmembers`: ~3 ms for a metadata provider, at each resolve), once
    per class. Its answer depends on the class alone where no attribute of the instance's
    own is a method (else libcst's is asked); a class whose namespaces changed in size
    since is asked again."""
    kind = type(visitor)
    own = getattr(visitor, "__dict__", None)
    if own is None or any(inspect.ismethod(value) for value in own.values()):
        return _LIBCST_GET_VISITORS(visitor)
    sizes = tuple(len(vars(klass)) for klass in kind.__mro__)
    held = _VISITOR_NAMES.get(kind)
    if held is None or held[0] != sizes:
        found = _LIBCST_GET_VISITORS(visitor)
        _VISITOR_NAMES[kind] = (sizes, tuple(found))
        return found
    return {name: getattr(visitor, name) for name in held[1]}


@contextmanager
def fast_visits() -> Iterator[None]:
    """Within: every `CSTNode.visit` (including those libcst's metadata providers and
    matchers make) goes through `_visit`. Process-wide while it lasts; nests."""
    if cst.CSTNode.visit is _visit:
        yield
        return
    _HOOKS.clear()
    _ATTRIBUTE_TYPES.clear()
    _HOOKED.clear()
    _TREE_KINDS.clear()
    _UNDECORATED.clear()
    cst.CSTNode.visit = _visit  # type: ignore[method-assign]
    BatchableCSTVisitor.get_visitors = _get_visitors  # type: ignore[method-assign,assignment]
    for name, gather in _FAST_GATHERERS.items():
        setattr(matcher_visitors, name, gather)
    try:
        yield
    finally:
        cst.CSTNode.visit = _LIBCST_VISIT  # type: ignore[method-assign]
        BatchableCSTVisitor.get_visitors = _LIBCST_GET_VISITORS  # type: ignore[method-assign]
        for name, gather in _LIBCST_GATHERERS.items():
            setattr(matcher_visitors, name, gather)
        _TREE_KINDS.clear()
