"""The project index and the plan phase that codemods use for cross-file changes."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
import pytest

from asyncfix.codemods import AsyncfixCodemod, Rule
from asyncfix.config import Config
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile, discover
from asyncfix.index import (
    _DEF,
    _DEF_TEXT,
    RELATIVE_IMPORT,
    TREES,
    WORD,
    ModuleInfo,
    ProjectIndex,
    forget,
    index_module,
    module_name,
    spells_any,
    use_layout,
    walk,
    walk_order_defs,
    walk_parents,
    words_of,
)
from asyncfix.planning import make_plans
from asyncfix.project import Layout, project_root

TESTDATA = Path(__file__).parent.parent / "testdata"

APP = """\
import requests as rq
from fastapi import FastAPI

from . import helpers
from .helpers import slow as slow_alias

app = FastAPI()


@app.get("/")
async def root():
    await helpers.fetch()
    return slow_alias()


class Service:
    async def run(self):
        def inner():
            return rq.get("x")

        return inner
"""

HELPERS = """\
import time


def slow():
    time.sleep(1)


async def fetch():
    return slow()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    pkg = tmp_path / "src" / "shop"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text(APP)
    (pkg / "helpers.py").write_text(HELPERS)
    (pkg / "plain.py").write_text("x = 1\n")
    return tmp_path


def test_module_names_follow_packages(project: Path) -> None:
    assert module_name(project / "src" / "shop" / "app.py") == "shop.app"
    assert module_name(project / "src" / "shop" / "__init__.py") == "shop"
    (project / "script.py").write_text("")
    assert module_name(project / "script.py") == "script"


def test_functions_imports_and_calls_are_resolved(project: Path) -> None:
    files, _ = discover([Path("src")])
    index = ProjectIndex(files)
    app = index.by_name("shop.app")
    assert app is not None
    assert app.imports["rq"] == "requests"
    assert app.imports["slow_alias"] == "shop.helpers.slow"
    assert app.assignments["app"] == ("fastapi.FastAPI", 7)
    root = app.functions["shop.app.root"]
    assert root.is_async and root.awaits
    assert root.decorators == ("shop.app.app.get",)
    assert root.calls == ("shop.helpers.fetch", "shop.helpers.slow")
    run_method = app.functions["shop.app.Service.run"]
    assert run_method.class_name == "Service" and not run_method.awaits
    inner = app.functions["shop.app.Service.run.<locals>.inner"]
    assert inner.calls == ("requests.get",) and inner.class_name is None
    helpers = index.function("shop.helpers.slow")
    assert helpers is not None and helpers.calls == ("time.sleep",) and not helpers.is_async


def test_modules_are_parsed_only_when_their_bytes_match(project: Path) -> None:
    files, _ = discover([Path("src")])
    index = ProjectIndex(files)
    assert [m.name for m in index.modules(b"FastAPI")] == ["shop.app"]
    assert "src/shop/plain.py" not in index._modules  # never parsed


RULE = Rule("AF999", "test", "test", "why", "fix", "", "")


class _MarkCallers(AsyncfixCodemod):
    """Plans a comment on every module that calls shop.helpers.slow, even modules whose
    bytes hold none of its TRIGGERS: the plan decides, the transformer applies."""

    NAME = "mark-callers"
    FAMILY = "awaits"
    RULES: ClassVar[tuple[Rule, ...]] = (RULE,)
    TRIGGERS = (b"never-present-token",)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any]:
        return {
            info.path: sorted(
                f.name for f in info.functions.values() if "shop.helpers.slow" in f.calls
            )
            for info in index.modules(b"slow")
            if any("shop.helpers.slow" in f.calls for f in info.functions.values())
        }

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        comment = cst.EmptyLine(comment=cst.Comment(f"# calls slow: {', '.join(self.planned)}"))
        if any(line.deep_equals(comment) for line in updated_node.header):
            return updated_node  # idempotent, as the driver demands
        self.report(original_node, "AF999", f"calls slow: {self.planned}")
        return updated_node.with_changes(header=[*updated_node.header, comment])


def test_plans_reach_the_planned_files_only(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("asyncfix.pipeline.all_codemods", lambda: (_MarkCallers,))
    monkeypatch.setattr("asyncfix.pipeline.resolve_selection", lambda s, i: frozenset({"AF999"}))
    pipeline = Pipeline(Config())
    files, _ = discover([Path("src")])
    plans = make_plans(pipeline, files)
    assert plans == {
        "src/shop/app.py": {"mark-callers": ["root"]},
        "src/shop/helpers.py": {"mark-callers": ["fetch"]},
    }
    result = run([Path("src")], Config(), jobs=1)
    assert not result.errors
    changed = {o.file.display: o.new for o in result.outcomes if o.new}
    assert set(changed) == {"src/shop/app.py", "src/shop/helpers.py"}
    assert changed["src/shop/helpers.py"] == b"# calls slow: fetch\n" + HELPERS.encode()
    assert [f.message for f in result.findings] == ["calls slow: ['root']", "calls slow: ['fetch']"]


def test_trees_beyond_the_memory_budget_are_dropped_and_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in "abc":
        (tmp_path / f"{name}.py").write_text(f"def {name}():\n    return 1\n" * 50)
    files, _ = discover([tmp_path], ())
    monkeypatch.setattr(TREES, "budget", 120)  # lines: room for one module's tree
    index = ProjectIndex(files)
    infos = list(index.modules())
    first = infos[0].tree
    assert infos[2].tree is infos[2].tree  # the most recent one is kept
    again = infos[0].tree  # dropped meanwhile: parsed again, the same facts
    assert again is not first and ast.dump(again) == ast.dump(first)
    assert sum(lines for _, lines in TREES._trees.values()) <= 120


def test_a_second_scan_finds_the_trees_the_budget_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plans walk the modules in the same order, one plan after another: the trees kept
    # must be the first ones, not the last (which a scan would drop before reaching them).
    for name in "abc":
        (tmp_path / f"{name}.py").write_text(f"def {name}():\n    return 1\n" * 50)
    files, _ = discover([tmp_path], ())
    monkeypatch.setattr(TREES, "budget", 250)  # lines: room for two modules' trees
    forget()  # nothing cached from other tests' modules of the same bytes
    index = ProjectIndex(files)
    infos = list(index.modules())
    first_scan = [info.tree for info in infos]
    second_scan = [info.tree for info in infos]
    kept = [a is b for a, b in zip(first_scan, second_scan, strict=True)]
    assert kept == [True, False, False]


def test_classes_and_return_annotations_are_indexed(tmp_path: Path) -> None:
    # forgotten-await's project facts come from these, with no tree kept or parsed again.
    source = b"""\
from models import Row

class Outer:
    class Inner: ...
    def method(self):
        class Local: ...

if TYPE_CHECKING:
    class Guarded: ...
try:
    pass
except ImportError:
    class Fallback: ...

def first() -> Row: ...
async def second() -> "Row": ...
def first() -> int: ...
def plain(): ...
"""
    (tmp_path / "app.py").write_bytes(source)
    files, _ = discover([tmp_path], ())
    info = ProjectIndex(files).module(files[0])
    assert info is not None
    assert info.classes == {"Outer", "Inner", "Local", "Guarded", "Fallback"}
    assert [(name, ast.unparse(annotation)) for name, annotation in info.returns] == [
        ("first", "Row"),
        ("second", "'Row'"),
        ("first", "int"),
    ]


@pytest.mark.parametrize("path", sorted(TESTDATA.rglob("*.py"))[::7], ids=str)
def test_walk_is_ast_walk(path: Path) -> None:
    try:
        tree = ast.parse(path.read_bytes())
    except SyntaxError:
        return
    assert all(a is b for a, b in zip(walk(tree), ast.walk(tree), strict=True))
    assert walk(tree) is walk(tree)  # a module's list is kept for the next screen
    for node in tree.body[:3]:  # below a module: walked each time
        assert all(a is b for a, b in zip(walk(node), ast.walk(node), strict=True))
    other = ast.parse("x = 1\n")
    assert [type(n) for n in walk(other)] == [type(n) for n in ast.walk(other)]


def test_toplevel_calls_are_the_bodys_own_name_assignments(tmp_path: Path) -> None:
    source = (
        "from fastapi import APIRouter as Router, FastAPI\n"
        "app = FastAPI()\n"
        "a = b = FastAPI()\n"  # two targets
        "app.state = Router()\n"  # not a name
        "if True:\n"
        "    nested = Router()\n"  # in a block
        "def build():\n"
        "    inner = Router()\n"
        "    return inner\n"
        "made = build()\n"
        "made = later()\n"  # a later name of the module: resolved once all are known
        "count = 1\n"
        "unknown = (lambda: 1)()\n"  # no dotted callee
        "def later(): ...\n"
    )
    path = tmp_path / "main.py"
    path.write_text(source)
    info = index_module(SourceFile(path, "main.py"), source.encode())
    assert info is not None
    assert info.toplevel_calls == [
        ("app", "fastapi.FastAPI", 2),
        ("made", "main.build", 10),
        ("made", "main.later", 11),
    ]


@pytest.mark.parametrize("path", sorted(TESTDATA.rglob("*.py"))[::7], ids=str)
def test_walk_order_defs_and_parents_are_ast_walks(path: Path) -> None:
    try:
        tree = ast.parse(path.read_bytes())
    except SyntaxError:
        return
    defs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    assert all(a is b for a, b in zip(walk_order_defs(tree), defs, strict=True))
    nodes, parents = walk_parents(tree)
    assert all(a is b for a, b in zip(nodes, ast.walk(tree), strict=True))
    assert parents == {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}


def test_walk_order_defs_is_breadth_first_through_handlers_and_cases() -> None:
    tree = ast.parse(
        "try:\n"
        "    if x:\n"
        "        def in_if(): ...\n"
        "except E:\n"
        "    def in_handler(): ...\n"
        "match y:\n"
        "    case 1:\n"
        "        def in_case(): ...\n"
        "class C:\n"
        "    def method(self):\n"
        "        def local(): ...\n"
        "def top(): ...\n"
    )
    # By depth (an `except` handler and a `case` are a level of their own), then in order.
    expected = ["top", "method", "in_if", "in_handler", "in_case", "local"]
    assert [d.name for d in walk_order_defs(tree)] == expected
    assert [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] == expected


def test_decorated_functions_hold_route_words_and_dependencies(tmp_path: Path) -> None:
    source = (
        "from fastapi import APIRouter, Depends, Security as Sec\n"
        "from .deps import current_user\n"
        "router = APIRouter()\n"
        "def get_db(): ...\n"
        "@router.get('/')\n"
        "async def index(db=Depends(get_db), *, user=Sec(current_user), q=Depends()): ...\n"
        "@staticmethod\n"  # no attribute word
        "def plain(): ...\n"
        "class Bot:\n"
        "    @dp.message_handler(commands=['x'])\n"
        "    @cache.cached\n"
        "    def on_x(self, other=Depends(unknown.thing), x=other(get_db)): ...\n"
        "@property\n"
        "def twice(): ...\n"
        "@twice.setter\n"  # takes the first `twice`'s qualname: that one has none
        "def twice(value): ...\n"
    )
    path = tmp_path / "routes.py"
    path.write_text(source)
    info = index_module(SourceFile(path, "routes.py"), source.encode())
    assert info is not None
    assert [(d.qualname, d.name, d.words, d.depends) for d in info.decorated] == [
        ("routes.index", "index", ("get",), ("routes.get_db", "deps.current_user")),
        ("routes.twice", "twice", ("setter",), ()),
        ("routes.Bot.on_x", "on_x", ("cached", "message_handler"), ("unknown.thing",)),
    ]


def test_module_values_are_the_shapes_of_module_level_bindings(tmp_path: Path) -> None:
    source = (
        "from motor.motor_asyncio import AsyncIOMotorClient as Client\n"
        "client = Client('mongodb://x')\n"
        "db = client.app\n"
        "feeds: Collection = db['feeds']\n"
        "a = b = client\n"
        "count: int\n"  # no value: no binding
        "x.y = 1\n"  # not a name
        "n = 1\n"
        "if True:\n"
        "    nested = Client()\n"  # in a block: not module-level here
        "made = (lambda: 1)()\n"
    )
    path = tmp_path / "store.py"
    path.write_text(source)
    info = index_module(SourceFile(path, "store.py"), source.encode())
    assert info is not None
    assert info.values == [
        ("client", ("call", "motor.motor_asyncio.AsyncIOMotorClient")),
        ("db", ("item", ("name", "client"), "app")),
        ("feeds", ("item", ("name", "db"), None)),
        ("a", ("name", "client")),
        ("b", ("name", "client")),
        ("n", None),
        ("made", ("call", None)),
    ]


def test_function_is_found_in_the_modules_its_name_starts_with(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f(): ...\nclass C:\n    def m(self): ...\n")
    (tmp_path / "pkg" / "b.py").write_text("def f(): ...\n")
    files, _ = discover([tmp_path], ())
    index = ProjectIndex(files)
    found = index.function("pkg.a.C.m", b"m")
    assert found is not None and found.path.endswith("a.py") and found.name == "m"
    found = index.function("pkg.b.f", b"f")
    assert found is not None and found.path.endswith("b.py")
    assert index.function("pkg.b.f", b"nowhere") is None  # its module lacks the token
    assert index.function("pkg.a.g") is None
    assert index.function("requests.get") is None


def _naming_project(root: Path) -> list[SourceFile]:
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("def fetch():\n    return load_all()\n")
    (root / "pkg" / "b.py").write_text("from . import a\nfetched = a.fetch_more\n")
    # Non-ASCII: NFKC reads a fullwidth `fetch` as `fetch`
    (root / "pkg" / "c.py").write_text(
        "# héllo\nfrom . import b\ndef \uff46\uff45\uff54\uff43\uff48():\n    pass\n",
        encoding="utf-8",
    )
    (root / "pkg" / "d.py").write_text("x = 1\n")
    files, _ = discover([root])
    return files


def _asked(index: ProjectIndex, names: set[str], **options: Any) -> list[tuple[str, set[str]]]:
    return [(info.name, found) for info, found in index.naming(names, **options)]


def test_naming_finds_whole_words_the_same_however_often_it_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = _naming_project(tmp_path)
    index = ProjectIndex(files)
    expected = [("pkg.a", {"fetch", "load_all"}), ("pkg.c", {"fetch"})]
    questions: list[tuple[set[str], dict[str, Any], list[tuple[str, set[str]]]]] = [
        ({"fetch", "load_all"}, {}, expected),
        ({"fetch"}, {"defined": True}, [("pkg.a", {"fetch"}), ("pkg.c", {"fetch"})]),
        ({"load_all"}, {"defined": True}, []),
        ({"load_all"}, {}, [("pkg.a", {"load_all"})]),
        ({"nothing"}, {"relative_imports": True}, [("pkg.b", set()), ("pkg.c", set())]),
        (set(), {"keep": {"pkg/d.py"}}, [("pkg.d", set())]),
    ]
    # The first calls search the bytes; from the third on, every file's words are kept:
    # the answers must not change (`fetch_more` and `fetched` are not the word `fetch`).
    for _ in range(4):
        for names, options, answer in questions:
            assert _asked(index, names, **options) == answer
    # Words another index listed (as a one-file plan takes the project's) change no answer.
    shared = ProjectIndex(files)
    shared.share_words(index)
    for names, options, answer in questions:
        assert _asked(shared, names, **options) == answer
    # A sealed view shares the words found, and finds the same.
    assert _asked(index.sealed({"pkg/a.py"}), {"fetch", "load_all"}) == expected


def test_a_relative_import_is_a_whole_word_from_then_a_dot() -> None:
    for source in (b"from .a import b", b"x = 1\nfrom \\\n  ..a import b", b"(from .a"):
        assert RELATIVE_IMPORT.search(source) is not None, source
    for source in (b"xfrom .a import b", b"_from .a", b"from a import b", b"from_ .a"):
        assert RELATIVE_IMPORT.search(source) is None, source


def test_def_names_are_found_as_the_lookbehind_first_pattern_found_them() -> None:
    # `_DEF` starts with its literal for speed; it must find exactly what the plain
    # spelling found, in bytes and in text, on random mixes of the pieces that matter.
    plain = re.compile(rb"(?<!\w)def[\s\\]+(\w+)")
    plain_text = re.compile(plain.pattern.decode())
    pieces = ["def", "def", " ", "\t", "\\", "\n", "a", "_", "9", "é", "(", ".", "async ", "x"]
    rnd = random.Random(25)
    sizes = [rnd.randrange(1, 30) for _ in range(5000)]
    sources = ["".join(rnd.choice(pieces) for _ in range(size)) for size in sizes]
    sources += [p.read_text("utf-8") for p in sorted(TESTDATA.rglob("*.py"))[:300]]
    for source in sources:
        assert _DEF_TEXT.findall(source) == plain_text.findall(source), source
        data = source.encode()
        assert _DEF.findall(data) == plain.findall(data), source


def test_words_are_the_runs_of_word_characters_of_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = _naming_project(tmp_path)
    index = ProjectIndex(files)
    (b,) = [f for f in files if f.display == "pkg/b.py"]
    data = index.data(b)
    assert data is not None
    assert index.words(b, data) == {b"from", b"import", b"a", b"fetched", b"fetch_more"}
    assert index.words(b, data, defined=True) == frozenset()
    (a,) = [f for f in files if f.display == "pkg/a.py"]
    assert index.words(a, index.data(a) or b"", defined=True) == {b"fetch"}


def test_module_names_follow_the_layout_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for service in ("svc_a", "svc_b"):
        (tmp_path / service).mkdir()
        (tmp_path / service / "main.py").write_text("x = 1\n")
    files, _ = discover([tmp_path])
    layout = Layout.of(project_root([tmp_path]), [f.path.resolve() for f in files])
    main = tmp_path / "svc_a" / "main.py"
    try:
        use_layout(layout)
        assert module_name(main) == module_name(main) == "svc_a.main"  # (the second: known)
        use_layout(None)  # each file on its own: the names known under the layout go
        assert module_name(main) == "main"
    finally:
        use_layout(None)


def _app_and_deps(tmp_path: Path, source: str) -> tuple[ModuleInfo, ModuleInfo]:
    """The facts of `source` as app.py beside a deps.py defining get_db and get_user."""
    (tmp_path / "deps.py").write_text("def get_db(): ...\ndef get_user(): ...\n")
    (tmp_path / "app.py").write_text(source)
    files, _ = discover([tmp_path])
    infos = {f.display: index_module(f, f.path.read_bytes()) for f in files}
    app, deps = infos["app.py"], infos["deps.py"]
    assert app is not None and deps is not None
    return app, deps


def test_dependency_calls_are_the_resolved_dependencies_of_depends_and_security(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = (
        "import fastapi\n"
        "from fastapi import Depends, Security\n"
        "from deps import get_db as db\n"
        "import deps\n"
        "def route(a=Depends(db), b=fastapi.Security(deps.get_user)):\n"
        "    return Depends(dependency=deps.get_db), Depends(lambda: 1), Depends(), check(db)\n"
    )
    info, plain = _app_and_deps(tmp_path, source)
    # In ast.walk order (breadth first): the defaults, then the body's calls; a lambda
    # (no dotted name), no dependency at all, and a call of another name are left out.
    assert info.dependency_calls == [
        ("deps.get_db", "db"),
        ("deps.get_user", "deps.get_user"),
        ("deps.get_db", "deps.get_db"),
    ]
    # A module that spells neither word has none (its calls are not walked for them).
    assert plain.dependency_calls == []


def test_fastapi_dependencies_and_router_includes_follow_af201s_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = (
        "import fastapi\n"
        "import other\n"
        "from fastapi import Depends as Dep, params\n"
        "from deps import get_db, get_user\n"
        "app = fastapi.FastAPI()\n"
        "router = fastapi.APIRouter()\n"
        "def route(a=Dep(get_db), b=other.Depends(get_user), c=params.Depends(get_user)):\n"
        "    return fastapi.Security(get_db, dependency=get_user), Dep(lambda: 1)\n"
        "app.include_router(router)\n"
        "app.include_router(make())\n"
        "app.include_router(prefix='/x')\n"
    )
    info, plain = _app_and_deps(tmp_path, source)
    # Only FastAPI's callees, aliased too (not another library's `Depends`); the last
    # `dependency=` wins over the positional argument; a lambda is left out.
    assert info.fastapi_dependencies == ["deps.get_db", "deps.get_user", "deps.get_user"]
    # Only an include of a router (a dotted name) by a dotted owner.
    assert info.router_includes == [("app.app", "app.router")]
    assert plain.fastapi_dependencies == [] and plain.router_includes == []


def test_the_dependency_tails_are_the_db_plans_dependency_callees() -> None:
    from asyncfix.codemods.db_session.names import DEPENDENCY_CALLEES
    from asyncfix.index import DEPENDENCY_TAILS

    assert set(DEPENDENCY_TAILS) == DEPENDENCY_CALLEES


def test_words_of_is_the_word_pattern() -> None:
    every_byte = bytes(range(256))
    samples = [
        every_byte,
        every_byte * 2,
        b"",
        b"a",
        b"  a_b1 c\xc3\xa9d\te\n_\x00f",
        "é x".encode(),
    ]
    samples += [path.read_bytes() for path in sorted(TESTDATA.rglob("*.py"))]
    for data in samples:
        assert words_of(data) == WORD.findall(data)


def test_spells_any_is_any_substring() -> None:
    token_sets: list[set[bytes]] = [set(), {b""}, {b"a.b", b"(x", b"Session"}, {b"ab", b"b"}]
    for tokens in token_sets:
        spells = spells_any(tokens)
        for data in (b"", b"a", b"xa.b", b"a-b", b"(x", b"AsyncSession()", b"cab"):
            assert spells(data) is any(token in data for token in tokens)
