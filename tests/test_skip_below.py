"""A codemod's visit skips the subtrees that hold no node type it hooks
(`traversal.kinds_below`, `traversal.hooked_bits`): what it sees and makes must be what a
visit of every node sees and makes."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import libcst as cst
import pytest
from libcst.codemod import CodemodContext

from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.codemods.runner import file_run
from asyncfix.codemods.speed.metadata import parent_map
from asyncfix.codemods.speed.traversal import hooked_bits, kinds_below, type_bit
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

    visits = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        type(self).visits += 1
        return super().on_visit(node)


def _transform(kind: type[_Renamer], source: bytes, skip: bool) -> tuple[_Renamer, str]:
    module = cst.parse_module(source)
    run = file_run(module, "m.py", Config(), frozenset({"AF999"}), source=source)
    codemod = kind(CodemodContext(filename="m.py"), run)
    if not skip:
        codemod.hooked_bits = lambda: None  # type: ignore[method-assign]
    return codemod, codemod.transform(module).code


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_a_skipping_visit_sees_and_makes_what_a_full_one_does(path: Path) -> None:
    source = path.read_bytes()
    skipping, code = _transform(_Renamer, source, skip=True)
    full, expected = _transform(_Renamer, source, skip=False)
    assert skipping.skip_below is not None and full.skip_below is None
    assert skipping.seen == full.seen
    assert code == expected


def test_the_skipped_subtrees_are_those_without_a_hooked_type() -> None:
    source = b"import os\n\nx = [1, 2, (3, 4)]\n\n\ndef f(a: int = 1) -> None:\n    g(a)\n"
    _Counting.visits = 0
    codemod, code = _transform(_Counting, source, skip=True)
    assert codemod.skip_below is None  # its own on_visit: every node is entered
    module = cst.parse_module(source)
    parents = parent_map(module)
    assert parents is not None and _Counting.visits == len(parents) + 1
    assert code == source.decode().replace("g(a)", "g(a_x)")
    bits = hooked_bits(_Renamer, AsyncfixCodemod)
    assert bits == type_bit(cst.Call) | type_bit(cst.Name)
    kinds = kinds_below(module, parents)
    # The list of constants holds no name and no call: a skipping visit leaves it be.
    assign = module.body[1]
    assert isinstance(assign, cst.SimpleStatementLine) and isinstance(assign.body[0], cst.Assign)
    assert not kinds[id(assign.body[0].value)] & bits
    assert kinds[id(module.body[2])] & bits
