"""A codemod's visit skips the subtrees that hold no node type it hooks
(`traversal.kinds_below`, `traversal.hooked_bits`): what it sees and makes must be what a
visit of every node sees and makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
import libcst.matchers as m
import libcst.matchers._visitors as matcher_visitors
import pytest
from libcst.codemod import CodemodContext

from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.codemods.runner import file_run
from asyncfix.codemods.speed import traversal
from asyncfix.codemods.speed.metadata import FastWrapper, parent_map
from asyncfix.codemods.speed.traversal import fast_visits, hooked_bits, kinds_below, type_bit
from asyncfix.config import Config

TESTDATA = Path(__file__).parent.parent / "testdata"
SOURCES = sorted(TESTDATA.rglob("*.py"))[:30]
_RULE = Rule("AF999", "test-only", "", "", "", "", "")


def _subtree_bits(node: cst.CSTNode) -> int:
    """The bits of every node type under `node`, itself included, by libcst's children."""
    bits = type_bit(type(node))
    for child in node.children:
        bits |= _subtree_bits(child)
    return bits


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_kinds_below_are_the_types_under_each_node(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    parents = parent_map(module)
    assert parents is not None
    kinds = kinds_below(module, parents)
    for node in [module, *parents]:
        assert kinds[id(node)] == _subtree_bits(node), type(node).__name__


class _Renamer(AsyncfixCodemod):
    """Hooks two node types: calls are recorded, names inside a call renamed."""

    NAME = "test-renamer"
    FAMILY = "test"
    RULES: ClassVar[tuple[Rule, ...]] = (_RULE,)

    def __init__(self, context: CodemodContext, run: object) -> None:
        super().__init__(context, run)  # type: ignore[arg-type]
        self.seen: list[str] = []
        self.depth = 0

    def visit_Call(self, node: cst.Call) -> None:
        self.depth += 1
        self.seen.append(f"call at depth {len(self._statements)}")

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        self.depth -= 1
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        self.seen.append(f"name {original_node.value}")
        if self.depth and original_node.value.startswith("a"):
            return updated_node.with_changes(value=original_node.value + "_x")
        return updated_node


class _Counting(_Renamer):
    """Its own `on_visit`: then no subtree may be skipped."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        return super().on_visit(node)


class _Imports(m.MatcherDecoratableVisitor):
    """A matcher-decoratable visitor without matchers: it acts as a plain one."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        self.names.append(cst.Module([]).code_for_node(node.name))


class _DecoratedImports(_Imports):
    """...and one with a matcher decorator, whose hooks must see every node."""

    @m.call_if_inside(m.ImportFrom())
    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        super().visit_ImportAlias(node)


@pytest.fixture
def entered(monkeypatch: pytest.MonkeyPatch) -> list[cst.CSTNode]:
    """The nodes whose `on_visit` ran, of codemods and matcher-decoratable visitors."""
    nodes: list[cst.CSTNode] = []
    for kind in (AsyncfixCodemod, m.MatcherDecoratableVisitor):

        def counted(self: object, node: cst.CSTNode, visit: Any = kind.on_visit) -> bool:
            nodes.append(node)
            return visit(self, node)  # type: ignore[no-any-return]

        monkeypatch.setattr(kind, "on_visit", counted)
    return nodes


def _no_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traversal, "_skip_below", lambda root, visitor: None)


def _transform(kind: type[_Renamer], source: bytes) -> tuple[_Renamer, str]:
    module = cst.parse_module(source)
    run = file_run(module, "m.py", Config(), frozenset({"AF999"}), source=source)
    codemod = kind(CodemodContext(filename="m.py"), run)
    return codemod, codemod.transform(module).code


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_a_skipping_visit_sees_and_makes_what_a_full_one_does(
    path: Path, entered: list[cst.CSTNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = path.read_bytes()
    skipping, code = _transform(_Renamer, source)
    skipped = len(entered)
    entered.clear()
    _no_skips(monkeypatch)
    full, expected = _transform(_Renamer, source)
    assert skipping.seen == full.seen
    assert code == expected
    assert skipped < len(entered) or len(entered) == 1  # (an empty module: itself alone)


def test_a_codemod_with_its_own_on_visit_enters_every_node(entered: list[cst.CSTNode]) -> None:
    source = b"import os\n\nx = [1, 2, (3, 4)]\n\n\ndef f(a: int = 1) -> None:\n    g(a)\n"
    assert hooked_bits(_Counting) is None
    _, code = _transform(_Counting, source)
    parents = parent_map(cst.parse_module(source))
    assert parents is not None and len(entered) == len(parents) + 1
    assert code == source.decode().replace("g(a)", "g(a_x)")


def test_the_skipped_subtrees_are_those_without_a_hooked_type() -> None:
    source = b"x = [1, 2, (3, 4)]\n\n\ndef f(a: int = 1) -> None:\n    g(a)\n"
    module = cst.parse_module(source)
    parents = parent_map(module)
    assert parents is not None
    bits = hooked_bits(_Renamer)
    assert bits == type_bit(cst.Call) | type_bit(cst.Name)
    kinds = kinds_below(module, parents)
    # The list of constants holds no name and no call: a skipping visit leaves it be.
    assign = module.body[0]
    assert isinstance(assign, cst.SimpleStatementLine) and isinstance(assign.body[0], cst.Assign)
    assert not kinds[id(assign.body[0].value)] & bits
    assert kinds[id(module.body[1])] & bits


SOURCE = b"import os\nfrom a import b as c\n\n\ndef f():\n    import json\n    return [1, 2]\n"


@pytest.mark.parametrize(
    ("kind", "names"), [(_Imports, ["os", "b", "json"]), (_DecoratedImports, ["b"])]
)
def test_a_matcher_visitor_skips_only_without_matchers(
    kind: type[_Imports], names: list[str], entered: list[cst.CSTNode]
) -> None:
    module = cst.parse_module(SOURCE)
    with fast_visits():  # (made within: libcst's gatherers of decorators are ours there)
        visitor = kind()
        FastWrapper(module, unsafe_skip_copy=True).kinds()
        module.visit(visitor)
    assert visitor.names == names
    parents = parent_map(module)
    assert parents is not None
    if kind is _Imports:
        assert entered and len(entered) < len(parents) // 2
    else:
        assert len(entered) == len(parents) + 1


def test_a_tree_s_masks_serve_only_within_the_block_they_were_made_in(
    entered: list[cst.CSTNode],
) -> None:
    module = cst.parse_module(SOURCE)
    with fast_visits():
        FastWrapper(module, unsafe_skip_copy=True).kinds()
    with fast_visits():
        module.visit(_Imports())
    parents = parent_map(module)
    assert parents is not None and len(entered) == len(parents) + 1


def test_libcsts_gatherers_of_matcher_decorators_are_back_after_the_block() -> None:
    gatherers = ("_gather_constructed_visit_funcs", "_gather_matchers")
    before = [getattr(matcher_visitors, name) for name in gatherers]
    with fast_visits():
        assert [getattr(matcher_visitors, name) for name in gatherers] != before
        assert _DecoratedImports()._matchers and not _Imports()._matchers
    assert [getattr(matcher_visitors, name) for name in gatherers] == before


def test_libcsts_visitor_bases_carry_no_matcher_decorator() -> None:
    # (`_undecorated` looks at their thousand hooks once per process, not once per
    # matcher-decoratable class and visit block; were one decorated, it would answer no)
    assert traversal._libcst_bases_undecorated()
    with fast_visits():
        assert traversal._undecorated(_Imports())
        assert not traversal._undecorated(_DecoratedImports())
        assert not _Imports()._matchers and _DecoratedImports()._matchers
