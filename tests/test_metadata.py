"""Our metadata must be libcst's: `parent_map` for ParentNodeProvider, `expression_contexts`
for ExpressionContextProvider, the wrapper's on-demand qualified names for
QualifiedNameProvider and the positions of one statement for PositionProvider; and
`function_defs` and `nodes_of` must find what `m.findall` finds."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest
from libcst._metadata_dependent import LazyValue
from libcst.metadata import (
    CodeRange,
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import FileRun
from asyncfix.codemods.db_session import own_nodes
from asyncfix.codemods.speed.metadata import (
    expression_contexts,
    function_defs,
    nodes_of,
    parent_map,
)
from asyncfix.config import Config
from asyncfix.syntax import FormFeeds

TESTDATA = Path(__file__).parent.parent / "testdata"
SOURCES = sorted(TESTDATA.rglob("*.py"))


def _libcst_parents(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_our_metadata_is_libcsts(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    parents = parent_map(module)
    assert parents is not None
    expected = _libcst_parents(module)
    assert parents.keys() == expected.keys()
    assert all(parents[node] is parent for node, parent in expected.items())

    contexts = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ExpressionContextProvider)
    ours = expression_contexts(module)
    assert ours.keys() == contexts.keys()
    assert all(ours[node] is context for node, context in contexts.items())

    names = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    run = FileRun("m.py", module, Config(), frozenset(), {})
    our_names = run.wrapper(module).resolve(QualifiedNameProvider)
    assert set(our_names) == set(names)
    for node, found in names.items():
        assert our_names[node] == (found() if isinstance(found, LazyValue) else found)
    assert our_names.get(cst.Name("elsewhere"), "default") == "default"  # not in this tree

    defs = m.findall(module, m.FunctionDef())
    ours_defs = function_defs(module)
    assert len(ours_defs) == len(defs)
    assert all(a is b for a, b in zip(ours_defs, defs, strict=True))  # same order too

    for kind, matcher in ((cst.Call, m.Call()), (cst.With, m.With()), (cst.Assign, m.Assign())):
        matched = m.findall(module, matcher)
        ours_nodes = nodes_of(module, kind)
        assert len(ours_nodes) == len(matched)
        assert all(a is b for a, b in zip(ours_nodes, matched, strict=True))


class _OwnBody(cst.CSTVisitor):
    """A function's own body by libcst's visit: nested functions, classes and lambdas
    are in it, their insides are not."""

    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.append(node)
        return not isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_own_nodes_are_a_visit_of_the_own_body(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    for function in function_defs(module):
        visitor = _OwnBody()
        body = function.body
        # (`def f(): x` is walked as the line `x` would be: own_nodes makes that line.)
        if isinstance(body, cst.SimpleStatementSuite):
            cst.SimpleStatementLine(body.body).visit(visitor)
        else:
            for stmt in body.body:
                stmt.visit(visitor)
        found = own_nodes(function)
        assert len(found) == len(visitor.nodes)
        made = isinstance(body, cst.SimpleStatementSuite)  # that line's own nodes are new
        assert all(
            a is b or (made and a.deep_equals(b)) for a, b in zip(found, visitor.nodes, strict=True)
        )


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


def _statement_positions(
    data: bytes,
) -> tuple[dict[cst.CSTNode, CodeRange], dict[cst.CSTNode, CodeRange], int]:
    """(libcst's positions, those FileRun makes from each top-level statement alone, the
    number of statements it left to libcst's)."""
    module = cst.parse_module(data)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=data)
    expected = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    ours: dict[cst.CSTNode, CodeRange] = {}
    slow = 0
    for statement in module.body:
        nodes = [n for n in _walk(statement) if n in expected]
        found = {n: run._statement_position(n, statement) for n in nodes}
        if any(where is None for where in found.values()):
            slow += 1
        ours.update({n: w for n, w in found.items() if w is not None})
    return expected, ours, slow


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    found, stack = [], [node]
    while stack:
        found.append(stack.pop())
        stack.extend(found[-1].children)
    return found


def _driver_source(path: Path) -> bytes:
    """The file's bytes as the driver parses them (form feeds stripped)."""
    data = path.read_bytes()
    feeds = FormFeeds.strip(data)
    return data if feeds is None else feeds.stripped


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_statement_positions_are_libcsts(path: Path) -> None:
    data = _driver_source(path)
    expected, ours, slow = _statement_positions(data)
    assert all(ours[node] == expected[node] for node in ours)
    if not data.startswith(b"\xef\xbb\xbf"):
        assert not slow  # (a BOM shifts the first line: that statement takes libcst's)


@pytest.mark.parametrize(
    "source",
    [
        b"\xef\xbb\xbfimport x\n\n\ndef f():\n    pass\n",  # a BOM before the first statement
        b"# c\r\n@d\r\ndef f():\r\n    pass\r\nx = 1; y = 2\ry()\n",  # CRLF, CR, `;`
        b"@d\\\n(1)\ndef f(): pass\n\n\x0c\nclass A:\n\tpass\n",  # continued decorator, form feed
        b"if True:\n    x = 1\nelse:\n    y = 2\n# the end, no newline",
    ],
)
def test_statement_positions_agree_or_fall_back(source: bytes) -> None:
    expected, ours, _ = _statement_positions(source)
    assert ours and all(ours[node] == expected[node] for node in ours)


def _inner_chains(statement: cst.CSTNode, above: list[cst.CSTNode]) -> list[list[cst.CSTNode]]:
    """Every path of statements below `statement` as a codemod's stack holds it."""
    body = getattr(statement, "body", None)
    if not isinstance(body, cst.IndentedBlock):
        return []
    found = []
    for below in body.body:
        found.append([*above, below])
        found.extend(_inner_chains(below, [*above, below]))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_inner_statement_positions_are_libcsts(path: Path) -> None:
    # A finding's position made from the def or class body statement that holds it, at
    # the indentation and line it has in the file, is libcst's for the whole module.
    data = _driver_source(path)
    module = cst.parse_module(data)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=data)
    expected = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    for statement in module.body:
        for chain in _inner_chains(statement, []):
            for node in _walk(chain[-1])[:40]:
                found = run._inner_position(node, statement, chain)
                assert found is None or found == expected[node]


def test_inner_positions_take_the_innermost_def_or_class_body_statement() -> None:
    data = (
        b"class A:\n    x = 1\n\n    @d\n    async def f(self):\n"
        b"        if x:\n            await g(\n                1)\n"
    )
    module = cst.parse_module(data)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=data)
    expected = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    cls = module.body[0]
    assert isinstance(cls, cst.ClassDef) and isinstance(cls.body, cst.IndentedBlock)
    f = cls.body.body[1]
    assert isinstance(f, cst.FunctionDef) and isinstance(f.body, cst.IndentedBlock)
    branch = f.body.body[0]
    call = next(n for n in _walk(branch) if isinstance(n, cst.Call))
    assert run.original_position(call, cls, [f, branch]) == expected[call]
    # made from the `if` alone (a def's body statement), not the class
    assert id(branch) in run._statement_positions and id(cls) not in run._statement_positions
    assert run._positions is None


@pytest.mark.parametrize("with_parents", [True, False])
def test_a_position_without_its_statement_finds_the_statement(with_parents: bool) -> None:
    # A finding reported outside a codemod's visit (from its plan, in leave_Module) names
    # no statement: the one that holds the node is found, through the tree's parents
    # where a codemod resolved them, else by a search; no positions of the whole module.
    data = (TESTDATA / "legacy_app" / "app" / "main.py").read_bytes()
    module = cst.parse_module(data)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=data)
    if with_parents:
        run.wrapper(module).resolve(ParentNodeProvider)
    expected = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    nodes = [n for n in _walk(module.body[-1]) if isinstance(n, cst.Call | cst.Name)]
    assert nodes
    for node in nodes:
        assert run.original_position(node) == expected[node]
    assert run._positions is None


def test_the_statement_search_goes_round_from_the_last_one_found() -> None:
    # Findings come mostly in source order: the search starts where the last one was
    # found, so it must still find a node in an earlier statement, a top-level statement
    # itself (a def reported on leaving it), and nothing for a node of another tree.
    data = b"import a\n\n\ndef f():\n    a.b(1)\n\n\nx = [a.c(2)]\n\n\nclass C:\n    y = a.d(3)\n"
    module = cst.parse_module(data)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=data)
    holders = [module.body[1], module.body[2], module.body[3]]
    calls = [next(n for n in _walk(h) if isinstance(n, cst.Call)) for h in holders]
    for index in (2, 0, 1, 2, 1):
        assert run._top_statement(calls[index]) is holders[index]
        assert run._top_statement(holders[index]) is holders[index]
    assert run._top_statement(cst.parse_module(data).body[1]) is None


def test_a_rewritten_trees_code_and_ast_are_made_once() -> None:
    source = b"import json\n\nasync def f(x):\n    return json.loads(x)\n"
    module = cst.parse_module(source)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=source)
    assert run.code_bytes(module) is source  # the file's own bytes for the tree as parsed
    rewritten = module.with_changes(body=module.body[1:])
    code = run.code_bytes(rewritten)
    assert code == rewritten.code.encode("utf-8")
    assert run.code_bytes(rewritten) is code
    tree = run.tree_of(rewritten)
    assert tree is not None and run.tree_of(rewritten) is tree
    assert ast.dump(tree) == ast.dump(ast.parse(code))
    # A newer tree: the older one's entries go (the codemods never go back to it).
    newer = rewritten.with_changes(body=[*rewritten.body, cst.parse_statement("y = 1\n")])
    assert run.tree_of(newer) is not tree
    assert id(rewritten) not in run._trees


def test_code_bytes_keep_what_the_screens_read_outside_utf_8() -> None:
    # Not UTF-8, or the lone CR at the end libcst's code drops: `module.code` in UTF-8.
    latin = "# -*- coding: latin-1 -*-\nx = 'é'\n".encode("latin-1")
    module = cst.parse_module(latin)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=latin)
    assert run.code_bytes(module) == module.code.encode("utf-8") != latin
    rewritten = module.with_changes(body=[*module.body, cst.parse_statement("y = 'è'\n")])
    tree = run.tree_of(rewritten)
    assert tree is not None and ast.dump(tree) == ast.dump(ast.parse(rewritten.code))
    cr = b"x = 1\r"
    module = cst.parse_module(cr)
    run = FileRun("m.py", module, Config(), frozenset(), {}, source=cr)
    assert run.code_bytes(module) == module.code.encode("utf-8")


def test_a_released_runs_scopes_go_without_a_collection() -> None:
    # (see FileCaches.release: a worker's collection after the file then finds them gone)
    source = (
        "import os\nfrom a import b as c\nX = 1\n\n"
        "class K:\n    y = [i for i in range(3)]\n\n"
        "    async def f(self, z):\n        global X\n        g = lambda q: q + z\n"
        "        return len(os.sep) + c(X) + g(1)\n"
    )
    module = cst.parse_module(source)
    run = FileRun("m.py", module, Config(), frozenset(), {})
    scopes = run.wrapper(module).resolve(ScopeProvider)
    kept = {s for s in scopes.values() if s is not None}
    assert len(kept) == 5  # global, class, comprehension, function, lambda
    gone: list[weakref.ref[object]] = [weakref.ref(s) for s in kept]
    gone += [weakref.ref(a) for s in kept for a in s.assignments]
    gone += [weakref.ref(next(iter(kept)).globals.parent)]  # (the builtin scope)
    del scopes, kept
    enabled = gc.isenabled()
    gc.disable()
    try:
        run.release()
        del run, module
        assert [ref for ref in gone if ref() is not None] == []
    finally:
        if enabled:
            gc.enable()
