"""The prescreens' shared walk (codemods/speed/screens.py) and the shortcuts the screens
take through it: each must decide exactly as the walk it replaced (see test_prescreen.py
for the screens' decisions against the codemods themselves)."""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from collections.abc import Iterator

import pytest
from test_prescreen import SOURCES

from asyncfix.codemods.awaits import screen as awaits_screen
from asyncfix.codemods.awaits.facts import ProjectFacts
from asyncfix.codemods.db_session.screen import screen_facts
from asyncfix.codemods.http_client.blocking_apis import DIRECT
from asyncfix.codemods.http_client.blocking_paths import PATH_IO, may_call_path_io
from asyncfix.codemods.http_client.screen import Callees, module_shape
from asyncfix.codemods.shared.async_def_plan import _awaits_or_yields
from asyncfix.codemods.speed.screens import every_node
from asyncfix.index import ModuleInfo

_SKIPPED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)

# Shapes whose fields hold None, strings or lists of strings among the nodes.
SAMPLES = [
    "d = {**a, 'k': 1}\n",
    "def f(a, *, b, c=1, **kw) -> int:\n    global g\n    return a < b <= c and not -a\n",
    "def f():\n    x = 1\n    def g():\n        nonlocal x\n        x += 1\n",
    "match p:\n    case Point(x=0, y=[a, *rest]) | {'k': 1, **other} if a:\n        pass\n"
    "    case None | True:\n        pass\n    case str() as s:\n        pass\n",
    "f'{a!r:>{width}}' + b'x'\nx[1:2, ::3]\nlambda a=1: (yield)\n",
    "try:\n    pass\nexcept* ValueError as e:\n    raise\nfinally:\n    del a.b\n",
    "@dec(1)\nclass C(Base, metaclass=M):\n    x: int = 0\n    async def m(self):\n"
    "        async with a() as b, c:\n            async for i in b:\n                await i\n"
    "        return [j async for j in k if j]\n",
    "import a.b as c\nfrom . import d\nfrom .e import (f as g, h)\nassert x, 'm'\n",
]
if sys.version_info >= (3, 12):
    SAMPLES.append("type Alias[T: int, *Ts, **P] = list[T]\ndef f[T](x: T) -> T: ...\n")


def _trees() -> list[ast.Module]:
    found = [ast.parse(source) for source in SAMPLES]
    for _, data in SOURCES:
        try:
            found.append(ast.parse(data))
        except SyntaxError:
            continue
    return found


TREES = _trees()


def test_every_node_is_ast_walk_without_contexts_and_operators() -> None:
    for tree in TREES:
        expected = [node for node in ast.walk(tree) if not isinstance(node, _SKIPPED)]
        assert every_node(tree) == expected


def test_every_node_keeps_the_last_module_only() -> None:
    first, second = ast.parse("a = 1\n"), ast.parse("b = 2\n")
    assert every_node(first) is every_node(first)
    listed = every_node(second)
    assert every_node(first) is not every_node(first.body[0])  # a subtree: not kept
    assert every_node(second) is not listed  # (first was listed again in between)
    assert every_node(second) == listed


def _path_io_by_walk(tree: ast.Module) -> bool:
    """may_call_path_io as it was: a walk of every node for the imports and the calls."""
    if not any(
        isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (a.name if isinstance(node, ast.Import) else node.module or "").startswith("pathlib")
            for a in node.names
        )
        for node in ast.walk(tree)
    ):
        return False
    inside = {
        id(node)
        for outer in ast.walk(tree)
        if isinstance(outer, ast.AsyncFunctionDef)
        for node in ast.walk(outer)
    }
    return any(
        isinstance(node, ast.Call)
        and id(node) in inside
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in PATH_IO
        for node in ast.walk(tree)
    )


PATH_CASES = {
    # pathlib imported in a function, the call in an async def nested in a sync def
    "def setup():\n    import pathlib\n\ndef outer():\n    async def inner(p):\n"
    "        return p.read_text()\n": True,
    "try:\n    from pathlib import Path\nexcept ImportError:\n    pass\n\n"
    "class C:\n    async def m(self):\n        if x:\n            self.p.write_bytes(b'')\n": True,
    # a decorator of an async def runs where the def stands, and counts as the walk did
    "import pathlib\n\n@cache(p.read_text())\nasync def f():\n    pass\n": True,
    "import pathlib\n\ndef f(p):\n    return p.read_text()\n": False,  # not in an async def
    "async def f(p):\n    return p.read_text()\n": False,  # no pathlib import
    # (a relative module so named counts too: the screen over-approximates)
    "from .pathlib import x\n\nasync def f(p):\n    return p.open()\n": True,
    "import pathlib\n\nasync def f(p):\n    return p.exists()\n": False,  # not I/O
}


@pytest.mark.parametrize("source", list(PATH_CASES), ids=range(len(PATH_CASES)))
def test_may_call_path_io_cases(source: str) -> None:
    tree = ast.parse(source)
    assert may_call_path_io(tree) is PATH_CASES[source] is _path_io_by_walk(tree)


def test_may_call_path_io_as_the_walk_did() -> None:
    for tree in TREES:
        assert may_call_path_io(tree, module_shape(tree)) == _path_io_by_walk(tree)


def test_callees_bind_the_names_that_lead_to_a_target() -> None:
    source = textwrap.dedent(
        """
        import os, os.path as osp, subprocess as sp, json
        from time import sleep as nap, monotonic
        from urllib import request
        from .local import thing
        """
    )
    targets = {"time.sleep", "os.path.exists", "urllib.request.urlopen", "subprocess.run"}
    callees = Callees(targets, module_shape(ast.parse(source)).imports)
    # (each a prefix of, or one of, the targets; json and monotonic lead to none)
    assert {"os", "osp", "sp", "nap", "request"} <= set(callees.bound)
    assert not {"json", "monotonic"} & set(callees.bound)
    assert callees.relative == {"thing": {"local.thing"}}
    for tree in TREES:
        callees = Callees(DIRECT.qualnames, module_shape(tree).imports)
        for qualified in {q for names in callees.bound.values() for q in names}:
            assert any(t == qualified or t.startswith(qualified + ".") for t in DIRECT.qualnames)


def _screened_sources() -> Iterator[tuple[str, bytes, ModuleInfo, ProjectFacts, ast.Module]]:
    """(name, bytes, module facts, screen facts, tree) of each source Python parses, as
    forgotten-await's screen reads them."""
    for name, data in SOURCES:
        try:
            tree = ast.parse(data)
        except SyntaxError:
            continue
        found = awaits_screen.screened(name, data, None, tree)
        assert found is not None
        info, facts, tree = found
        yield name, data, info, facts, tree


def test_forgotten_await_shortcut_never_hides_a_candidate() -> None:
    checked = 0
    for name, _, info, facts, tree in _screened_sources():
        walked = awaits_screen._Screen(info, facts)
        walked._candidate_lines = lambda tree: None  # type: ignore[method-assign]
        if walked.found(tree):
            checked += 1
            assert awaits_screen.has_candidate(info, facts, tree), name
    assert checked > 10  # (the examples of AF501/AF502 and the golden inputs have sites)


def test_forgotten_await_noted_lines_are_the_walks_own() -> None:
    # The call sites an indexing worker notes (`site_lines`) give the candidate lines the
    # tree gives (each once), and so the same answer, for any names a plan may add.
    checked = cuts = 0
    for name, data, info, facts, tree in _screened_sources():
        noted = awaits_screen.site_lines(info, tree)
        every = awaits_screen._Screen(info, facts)
        every.methods |= set(noted[0])  # (as if a plan made every site a candidate)
        every.qualified |= set(noted[1])
        for screen in (awaits_screen._Screen(info, facts), every):
            walked = screen._candidate_lines(tree)
            assert walked is not None
            assert screen._noted_lines(noted) == sorted(set(walked)), name
        checked += bool(walked)
        assert awaits_screen.has_candidate(info, facts, tree, noted) == (
            awaits_screen.has_candidate(info, facts, tree)
        ), name
        # The walk over the statements on those lines alone, parsed from them: the same.
        for widen in (False, True):
            screens = [awaits_screen._Screen(info, facts) for _ in range(2)]
            for screen in screens if widen else ():
                screen.methods |= set(noted.attrs)
                screen.qualified |= set(noted.names)
            cut = screens[0].found_in_cut(data, noted)
            assert cut is not None and cut == screens[1].found(tree, noted), name
            cuts += cut
    assert checked > 10 and cuts > 10


def _screen(source: bytes) -> tuple[awaits_screen._Screen, ast.Module]:
    found = awaits_screen.screened("m.py", source, None, ast.parse(source))
    assert found is not None
    return awaits_screen._Screen(found[0], found[1]), found[2]


def test_forgotten_await_shortcut_rules_out_calls_in_no_position() -> None:
    source = b"import asyncio\n\nasync def f():\n    return g(asyncio.sleep(1))\n"
    screen, tree = _screen(source)
    assert screen._candidate_lines(tree) == [] and not screen.found(tree)
    dropped = source.replace(b"return g(asyncio.sleep(1))", b"asyncio.sleep(1)")
    screen, tree = _screen(dropped)
    assert screen._candidate_lines(tree) == [4] and screen.found(tree)


@pytest.mark.parametrize(
    "source",
    [
        # in a decorator, on a line above its def's
        b"import asyncio\n\n@deco(\n    asyncio.sleep(1)[0]\n)\nasync def f():\n    pass\n",
        # in the last statement of a def, after statements the walk skips
        b"import asyncio\n\nclass C:\n    x = 1\n\n    async def f(self):\n        y = 2\n"
        b"        if y:\n            pass\n        else:\n            asyncio.sleep(y)\n",
    ],
)
def test_forgotten_await_walk_enters_the_statements_on_a_candidate_line(source: bytes) -> None:
    screen, tree = _screen(source)
    assert screen._candidate_lines(tree) and screen.found(tree)


def _facts_by_walk(
    tree: ast.Module,
) -> tuple[dict[int, int | None], set[tuple[str, int | None]], set[int]]:
    """What screen_facts gathers, from a walk of every node with each one's own def."""
    own: dict[ast.AST, ast.AST | None] = {tree: None}
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            inner: ast.AST | None = own[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = node if name == "body" else None
            elif isinstance(node, ast.ClassDef | ast.Lambda):
                inner = None
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    own[child] = inner

    def where(node: ast.AST) -> int | None:
        function = own[node]
        return None if function is None else id(function)

    calls = {id(node): where(node) for node in own if isinstance(node, ast.Call)}
    yielded = {
        (node.value.id, where(node))
        for node in own
        if isinstance(node, ast.Yield) and isinstance(node.value, ast.Name)
    }
    functions = {id(n) for n in own if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return calls, yielded, functions


def test_screen_facts_as_a_walk_of_every_node() -> None:
    for tree in TREES:
        facts = screen_facts(tree)
        calls, yielded, functions = _facts_by_walk(tree)
        assert {id(call) for call in facts.calls} == set(calls)
        assert {id(f) for f in facts.functions} == functions
        for function, own in facts.functions.items():
            assert {id(call) for call in own.calls} == {
                call for call, where in calls.items() if where == id(function)
            }
            assert own.yielded == {name for name, where in yielded if where == id(function)}
        assert facts.imported == {
            alias.asname or alias.name.partition(".")[0]
            for alias in ast.walk(tree)
            if isinstance(alias, ast.alias)
        }


def _awaits_or_yields_by_walk(function: ast.AsyncFunctionDef) -> bool:
    """_awaits_or_yields as it was: every child, contexts and operators too."""
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith | ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.comprehension) and node.is_async:
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo.extend(node.decorator_list)
        elif not isinstance(node, ast.Lambda | ast.ClassDef):
            todo += list(ast.iter_child_nodes(node))
    return False


AWAIT_CASES = [
    "async def f():\n    return [x async for x in y]\n",
    "async def f():\n    d = {**a, 'k': 1}\n    lambda: (yield)\n",
    "async def f():\n    class C:\n        x = await g()\n",
    "async def f():\n    @dec(await g())\n    def inner():\n        pass\n",
    "async def f():\n    def inner():\n        yield 1\n",
    "async def f():\n    async with a() as b:\n        pass\n",
    "async def f(*, a, b=1):\n    return {k: v for k, v in (yield)}\n",
]


def test_awaits_or_yields_as_the_walk_did() -> None:
    functions = [
        node
        for tree in [*TREES, *(ast.parse(source) for source in AWAIT_CASES)]
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef)
    ]
    decided = [_awaits_or_yields(function) for function in functions]
    assert decided == [_awaits_or_yields_by_walk(function) for function in functions]
    assert True in decided and False in decided


def test_callee_words_as_they_were_spelled() -> None:
    """Callees._words through its cached tables: the words it joined from the targets."""
    for tree in TREES:
        for targets in (DIRECT.qualnames, frozenset({"a.b.c", "time.sleep", "builtins.open"})):
            callees = Callees(targets, module_shape(tree).imports)
            words = {t.rsplit(".", 1)[-1] for t in callees.targets}
            for names in (callees.bound, callees.relative):
                words.update(
                    name
                    for name, qualified in names.items()
                    if any(t == q or t.endswith(f".{q}") for q in qualified for t in targets)
                )
            spelled = callees._words().pattern.removeprefix(rb"\b(?:").removesuffix(rb")\b")
            assert {re.sub(rb"\\(.)", rb"\1", w).decode() for w in spelled.split(b"|")} == words
