"""Our metadata must be libcst's: `parent_map` for ParentNodeProvider, and the wrapper's
on-demand qualified names for QualifiedNameProvider."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst._metadata_dependent import LazyValue
from libcst.metadata import MetadataWrapper, ParentNodeProvider, QualifiedNameProvider

from asyncfix.codemods.base import FileRun, parent_map
from asyncfix.config import Config

TESTDATA = Path(__file__).parent.parent / "testdata"
SOURCES = sorted(TESTDATA.rglob("*.py"))


def _libcst_parents(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_same_parents_as_libcst(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    ours = parent_map(module)
    assert ours is not None
    expected = _libcst_parents(module)
    assert ours.keys() == expected.keys()
    assert all(ours[node] is parent for node, parent in expected.items())


def test_a_node_used_twice_falls_back_to_libcst() -> None:
    # A rewrite may put one node object in two places; which parent libcst reports then
    # depends on its walk, so the wrapper leaves those trees to libcst's provider.
    name = cst.Name("x")
    module = cst.Module(
        [cst.SimpleStatementLine([cst.Expr(name)]), cst.SimpleStatementLine([cst.Expr(name)])]
    )
    assert parent_map(module) is None
    run = FileRun("m.py", module, Config(), frozenset(), {})
    parents = run.wrapper(module).resolve(ParentNodeProvider)
    assert parents == _libcst_parents(module)


def test_the_wrapper_serves_our_map() -> None:
    module = cst.parse_module("async def f():\n    await g(1)\n")
    run = FileRun("m.py", module, Config(), frozenset(), {})
    parents = run.wrapper(module).resolve(ParentNodeProvider)
    awaits = [node for node in parents if isinstance(node, cst.Await)]
    assert len(awaits) == 1 and isinstance(awaits[0].expression, cst.Call)
    assert parents[awaits[0].expression] is awaits[0]
    assert parents == _libcst_parents(module)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_same_qualified_names_as_libcst(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    run = FileRun("m.py", module, Config(), frozenset(), {})
    ours = run.wrapper(module).resolve(QualifiedNameProvider)
    assert set(ours) == set(expected)
    for node, names in expected.items():
        assert ours[node] == (names() if isinstance(names, LazyValue) else names)
    assert ours.get(cst.Name("elsewhere"), "default") == "default"  # not in this tree
