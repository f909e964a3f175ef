"""Inside `fast_visits()` a visit must be libcst's: the same hooks called in the same
order with equal nodes, and the same resulting tree, on every testdata file."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameProvider, ScopeProvider
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from asyncfix.codemods.speed import traversal
from asyncfix.codemods.speed.metadata import child_nodes
from asyncfix.codemods.speed.orders import ORDERS
from asyncfix.codemods.speed.traversal import fast_visits, visit_order
from asyncfix.index import subclasses

TESTDATA = Path(__file__).parent.parent / "testdata"
SOURCES = sorted(TESTDATA.rglob("*.py"))
LIBCST_VISIT = cst.CSTNode.visit
PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"
ORDERS_FILE = Path(traversal.__file__).parent / "orders.py"
# The libcst releases the speed layer was checked against: this file's tests passed on the
# oldest (1.5.0) and the newest (1.9.0). Widen it, and the pin in pyproject.toml, only after
# they pass on the new release.
CHECKED_LIBCST = SpecifierSet(">=1.5,<1.10")

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _unchecked(version: str) -> str | None:
    """Why libcst `version` must not be used with the speed layer, or None."""
    if Version(version) in CHECKED_LIBCST:
        return None
    return (
        f"libcst {version} was never checked against asyncfix's speed layer "
        f"(asyncfix/codemods/speed/traversal.py reads libcst's private _batched_visitor and the "
        f"source of its visitors; checked: libcst{CHECKED_LIBCST}). Run "
        f"`pytest tests/test_traversal.py` on it, then widen CHECKED_LIBCST there and the "
        f"libcst pin in pyproject.toml"
    )


def test_installed_libcst_is_one_the_speed_layer_was_checked_against() -> None:
    problem = _unchecked(importlib.metadata.version("libcst"))
    assert problem is None, problem


def test_the_libcst_pin_is_the_checked_range() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [Requirement(d).specifier for d in dependencies if Requirement(d).name == "libcst"]
    assert pins == [CHECKED_LIBCST], "pyproject.toml's libcst pin is not CHECKED_LIBCST"


def test_the_recorded_orders_are_fresh() -> None:
    # speed/orders.py: every libcst node type's order as `source_order` reads it.
    assert ORDERS_FILE.read_text(encoding="utf-8") == traversal.orders_module(), (
        f"asyncfix/codemods/speed/orders.py is stale (another libcst); regenerate it with "
        f"{traversal.ORDERS_COMMAND}"
    )
    assert traversal._RECORDED is ORDERS
    kinds = [k for k in subclasses((cst.CSTNode,)) if k.__module__.startswith("libcst.")]
    assert len(kinds) > 200
    for kind in kinds:
        assert ORDERS[f"{kind.__module__}.{kind.__qualname__}"] == traversal.source_order(kind)


def test_an_order_is_read_from_the_source_without_a_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (another libcst release, or a node type of no release: read as before)
    module = cst.parse_module(Path(__file__).read_text(encoding="utf-8"))
    nodes: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.children)
    kinds = {type(node): node for node in nodes}
    recorded = {kind: traversal._read_order(node) for kind, node in kinds.items()}
    monkeypatch.setattr(traversal, "_RECORDED", {})
    assert {kind: traversal._read_order(node) for kind, node in kinds.items()} == recorded
    assert all(order is not None for order in recorded.values())


@pytest.mark.parametrize("version", ["1.4.0", "1.10.0", "2.0.0"])
def test_an_unchecked_libcst_is_named_with_what_to_do(version: str) -> None:
    problem = _unchecked(version)
    assert problem is not None and f"libcst {version} was never checked" in problem
    assert "pytest tests/test_traversal.py" in problem


class _Recorder(cst.CSTVisitor):
    """Every hook libcst calls, with the node's type and (for names) its value."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", type(node).__name__, getattr(node, "value", "")))
        return not isinstance(node, cst.Lambda)  # a pruned subtree too

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", type(original_node).__name__))


class _AttributeRecorder(_Recorder):
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.events.append(("enter", type(node).__name__, attribute))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.events.append(("exit", type(original_node).__name__, attribute))


class _TypedRecorder(cst.CSTVisitor):
    """libcst's own on_visit/on_leave, dispatching to per-type and per-field hooks."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("name", node.value))

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.events.append(("lambda",))
        return False  # a pruned subtree

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.events.append(("left", original_node.name.value))

    def visit_ClassDef_bases(self, node: cst.ClassDef) -> None:
        self.events.append(("bases of", node.name.value))

    def leave_Call_args(self, original_node: cst.Call) -> None:
        self.events.append(("after args",))


class _Rewriter(cst.CSTTransformer):
    """Renames, removes and duplicates, recording what each leave hook was handed."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.events.append(("body of", node.name.value))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        self.events.append(("name", updated_node.value))
        return (
            updated_node.with_changes(value=updated_node.value + "_")
            if "a" in updated_node.value
            else updated_node
        )

    def leave_Pass(self, original_node: cst.Pass, updated_node: cst.Pass) -> cst.RemovalSentinel:
        return cst.RemoveFromParent()

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        self.events.append(("line", cst.Module([]).code_for_node(updated_node)))
        if any(isinstance(s, cst.Import | cst.ImportFrom) for s in updated_node.body):
            return cst.FlattenSentinel([updated_node, updated_node])
        return updated_node


class _MatcherRecorder(m.MatcherDecoratableVisitor):
    """libcst's matcher-decoratable visitor (its import visitors are some): per-field
    hooks plain and under matcher decorators, and a decorated visit."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, ...]] = []

    def visit_Call_func(self, node: cst.Call) -> None:
        self.events.append(("func of call",))

    @m.call_if_inside(m.FunctionDef())
    def visit_Arg_value(self, node: cst.Arg) -> None:
        self.events.append(("argument in a def",))

    @m.call_if_not_inside(m.ClassDef())
    def leave_Attribute_attr(self, original_node: cst.Attribute) -> None:
        self.events.append(("attribute outside classes", original_node.attr.value))

    @m.visit(m.Name())
    def any_name(self, node: cst.Name) -> None:
        self.events.append(("name", node.value))


class _MatcherRewriter(m.MatcherDecoratableTransformer):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, ...]] = []

    @m.call_if_inside(m.Call())
    def visit_Arg_keyword(self, node: cst.Arg) -> None:
        self.events.append(("keyword",))

    @m.call_if_inside(m.FunctionDef())
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value.upper())


def _run(module: cst.Module, visitor: cst.CSTVisitor | cst.CSTTransformer, fast: bool) -> str:
    if fast:
        with fast_visits():
            return module.visit(visitor).code
    return module.visit(visitor).code


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_a_fast_visit_is_libcsts(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    kinds = (_Recorder, _AttributeRecorder, _TypedRecorder, _Rewriter, _MatcherRecorder)
    for kind in (*kinds, _MatcherRewriter):
        libcst, ours = kind(), kind()
        expected = _run(module, libcst, fast=False)
        assert _run(module, ours, fast=True) == expected
        assert ours.events == libcst.events

    # The order fields are visited in is libcst's `children` order.
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        order = visit_order(node)
        assert order is not None, type(node)
        fields = [getattr(node, name) for name, _ in order]
        children = [c for f in fields for c in (f if isinstance(f, tuple | list) else [f])]
        assert [c for c in children if isinstance(c, cst.CSTNode)] == list(node.children)
        assert child_nodes(node) == list(node.children)
        stack.extend(node.children)


@pytest.mark.parametrize("path", SOURCES[:40], ids=lambda p: str(p.relative_to(TESTDATA)))
def test_metadata_resolved_in_a_fast_visit_is_libcsts(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    with fast_visits():
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        scopes = wrapper.resolve(ScopeProvider)
        names = wrapper.resolve(QualifiedNameProvider)
    assert set(names) == set(expected)
    # The scopes count their assignments as libcst's own visit does.
    counted = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    assert [s._assignment_count for s in scopes.values() if s] == [
        s._assignment_count for s in counted.values() if s
    ]
    for node, found in expected.items():
        scope = scopes.get(node)
        assert (scope.get_qualified_names_for(node) if scope else set()) == (
            found() if callable(found) else found
        )


def test_libcsts_visit_is_back_after_the_block() -> None:
    with fast_visits():
        with fast_visits():
            assert cst.CSTNode.visit is not LIBCST_VISIT
        assert cst.CSTNode.visit is not LIBCST_VISIT  # the outer block still holds
    assert cst.CSTNode.visit is LIBCST_VISIT
    with pytest.raises(ValueError), fast_visits():
        raise ValueError
    assert cst.CSTNode.visit is LIBCST_VISIT


def test_batchable_hooks_are_libcsts_once_per_class() -> None:
    # Within fast_visits() the batched visit's `get_visitors` is found once per class,
    # from libcst's own answer: the same hooks, bound to each instance, in the same order.
    from libcst._batched_visitor import BatchableCSTVisitor
    from libcst.metadata import ExpressionContextProvider, ParentNodeProvider

    libcst_get = BatchableCSTVisitor.get_visitors
    kinds = [ScopeProvider, ParentNodeProvider, ExpressionContextProvider, QualifiedNameProvider]
    with fast_visits():
        for kind in kinds * 2:
            provider = kind()
            ours = provider.get_visitors()
            expected = libcst_get(provider)
            assert list(ours.items()) == list(expected.items())
        assert BatchableCSTVisitor.get_visitors is not libcst_get
    assert BatchableCSTVisitor.get_visitors is libcst_get
