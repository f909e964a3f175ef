"""The project scans of the plans that read the index's facts, or parse only the modules
their bytes show may matter: what they find, and which modules they leave unparsed."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from test_golden import TESTDATA, tree_cases

from asyncfix import syntax
from asyncfix.codemods.awaits._shared import canonical
from asyncfix.codemods.awaits.facts import ClassBases, class_bases, module_facts
from asyncfix.codemods.awaits.plan import project_plan
from asyncfix.codemods.db_session.plan import _sync_providers, sync_def_plan
from asyncfix.codemods.http_client.blocking_calls import BlockingCalls
from asyncfix.codemods.http_client.requests_plan import plan_requests
from asyncfix.codemods.lifespan import plan_clients
from asyncfix.codemods.lifespan.on_event import OnEventToLifespan
from asyncfix.codemods.lifespan.plan_lazy import per_request
from asyncfix.codemods.shared.async_def_plan import project_plan as async_def_plan
from asyncfix.config import Config
from asyncfix.files import SourceFile, discover
from asyncfix.index import TREES, ModuleInfo, ProjectIndex, forget
from asyncfix.planning import sealed_tests


def _index(root: Path, files: dict[str, str]) -> ProjectIndex:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    found, _ = discover([root], ())
    return ProjectIndex(found)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    forget()


def _parsed(index: ProjectIndex) -> set[str]:
    return {path for path, info in index._modules.items() if info is not None}


def _spy_on_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from now on, in order; the trees indexed so far are dropped first
    (facts without trees, as the workers' index hands them to the plans)."""
    TREES.clear()
    parsed: list[str] = []

    def parse(data: bytes, filename: str) -> ast.Module:
        parsed.append(filename)
        return ast.parse(data)

    monkeypatch.setattr(syntax, "parse", parse)
    return parsed


def test_uses_of_never_awaiting_handlers_are_found_and_unrelated_modules_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/endpoints.py": (
                "from fastapi import APIRouter\n"
                "router = APIRouter()\n"
                "@router.get('/')\n"
                "async def health():\n"
                "    return 1\n"
            ),
            "app/api/__init__.py": (
                "from fastapi import APIRouter\n"
                "router = APIRouter()\n"
                "@router.get('/ping')\n"
                "async def ping():\n"
                "    return 1\n"
            ),
            # through an absolute import, and through a relative one (no stem spelled)
            "app/caller.py": "from app.endpoints import health\n\nx = health()\n",
            "app/api/sub.py": "from . import ping\n\n\ndef go():\n    return ping()\n",
            "app/views.py": (
                "from fastapi import APIRouter\n"
                "router = APIRouter()\n"
                "@router.get('/list')\n"
                "async def listing():\n"
                "    return 1\n"
            ),
            # spelled in full from a name the module does not bind at its top level
            "app/spelled.py": "def f(app):\n    return app . views.listing\n",
            # names both, imports neither: never parsed
            "app/unrelated.py": "def health():\n    ping = 1\n    return ping\n",
            # imports the module, not the handler: its tree is not parsed
            "app/router.py": "from app.views import router\n\ndef listing(): ...\n",
        },
    )
    list(index.modules())
    parsed = _spy_on_parses(monkeypatch)
    plans = sync_def_plan(index)
    assert plans["app/endpoints.py"]["used"] == {"health": "app/caller.py:3"}
    assert plans["app/api/__init__.py"]["used"] == {"ping": "app/api/sub.py:5"}
    assert plans["app/views.py"]["used"] == {"listing": "app/spelled.py:2"}
    assert "app/unrelated.py" not in parsed and "app/router.py" not in parsed


def test_a_method_named_is_looked_for_in_every_module_naming_it(tmp_path: Path) -> None:
    index = _index(
        tmp_path,
        {
            "views.py": (
                "from fastapi import APIRouter\n"
                "router = APIRouter()\n"
                "class View:\n"
                "    @router.get('/')\n"
                "    async def show(self):\n"
                "        return 1\n"
            ),
            "other.py": "async def run(x):\n    return await x.show()\n",
        },
    )
    assert sync_def_plan(index)["views.py"]["used"] == {"View.show": "other.py:2"}


def test_sync_providers_parse_only_modules_spelling_a_session_or_a_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _index(
        tmp_path,
        {
            "db.py": (
                "from sqlalchemy.orm import Session as S, sessionmaker\n"
                "SessionLocal = sessionmaker()\n"
                "def get_db() -> S: ...\n"
                "def made():\n"
                "    db = SessionLocal()\n"
                "    yield db\n"
            ),
            "deps.py": "from db import SessionLocal\n\ndef session():\n    return SessionLocal()\n",
            "aio.py": (
                "from sqlalchemy.ext.asyncio import AsyncSession\n"
                "async def get_async() -> AsyncSession: ...\n"
            ),
        },
    )
    assert len(list(index.modules())) == 3
    parsed = _spy_on_parses(monkeypatch)
    defined = {"db": {"SessionLocal": "factory"}}
    assert _sync_providers(index, defined) == {"db.get_db", "db.made", "deps.session"}
    assert sorted(parsed) == ["db.py", "deps.py"]


def test_per_request_reads_routes_dependencies_and_their_callees(tmp_path: Path) -> None:
    index = _index(
        tmp_path,
        {
            "api.py": (
                "from fastapi import APIRouter, Depends\n"
                "from helpers import current, work\n"
                "router = APIRouter()\n"
                "@router.post('/')\n"
                "async def create(user=Depends(current)):\n"
                "    return work()\n"
                "@dp.message_handler()\n"
                "def on_message(m):\n"
                "    return m\n"
                "@other.cached\n"
                "def cached(): ...\n"
            ),
            "helpers.py": "def current(): ...\ndef work():\n    return inner()\ndef inner(): ...\n",
            # decorated, but with no route's or handler's word: not parsed
            "models.py": "class M:\n    @property\n    def get_it(self): ...\n",
        },
    )
    assert per_request(index, frozenset({"get", "post"})) == {
        "api.create": "create",
        "helpers.current": "create",
        "api.on_message": "on_message",
        "helpers.work": "create",
        "helpers.inner": "create",
    }
    assert "models.py" not in _parsed(index)


def test_per_request_parses_no_decorated_package_that_cannot_define_a_callee(
    tmp_path: Path,
) -> None:
    index = _index(
        tmp_path,
        {
            "api.py": (
                "from fastapi import APIRouter\n"
                "from pkg import sub\n"
                "router = APIRouter()\n"
                "@router.get('/')\n"
                "async def read():\n"
                "    return sub.work()\n"
            ),
            # `pkg` prefixes `pkg.sub.work` and has a decorator, but never spells `work`
            "pkg/__init__.py": "import functools\n@functools.cache\ndef setting(): ...\n",
            "pkg/sub.py": "@staticmethod\ndef work():\n    return 1\n",
        },
    )
    assert per_request(index, frozenset({"get"})) == {"api.read": "read", "pkg.sub.work": "read"}
    assert "pkg/__init__.py" not in _parsed(index)


def test_module_level_table_instances_come_from_the_index(tmp_path: Path) -> None:
    index = _index(
        tmp_path,
        {
            "store.py": (
                "from motor.motor_asyncio import AsyncIOMotorClient\n"
                "client = AsyncIOMotorClient('x')\n"
                "db = client.app\n"
                "feeds = db['feeds']\n"
                "twice = client\n"
                "twice = None\n"
            ),
        },
    )
    (info,) = index.modules()
    facts = module_facts(info)
    assert facts.variables == {
        "store.client": "motor.motor_asyncio.AsyncIOMotorClient",
        "store.db": "motor.motor_asyncio.AsyncIOMotorDatabase",
        "store.feeds": "motor.motor_asyncio.AsyncIOMotorCollection",
    }


def test_subclassed_table_classes_come_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # forgotten-await's plan reads each module's top-level classes and their bases from
    # the facts: the trees of modules indexed elsewhere are not parsed for them.
    index = _index(
        tmp_path,
        {
            "models/__init__.py": "",
            "models/base.py": (
                "from beanie import Document\n"
                "class Base(Document):\n"
                "    name: str\n"
                "    async def touch(self): ...\n"
            ),
            "models/user.py": (
                "from models.base import Base\n"
                "class User(Base):\n"
                "    email = ''\n"
                "    def hello(self): ...\n"
            ),
            "app.py": "from models.user import User\n\nasync def main(u: User):\n    u.save()\n",
        },
    )
    list(index.modules())  # (the workers' index: facts, their trees dropped below)
    parsed = _spy_on_parses(monkeypatch)
    plan = project_plan(index)
    assert plan is not None
    assert plan["app.py"]["inherited"] == {"models.user.User": "beanie.Document"}
    assert plan["app.py"]["defines"]["models.user.User"] == ["email", "hello", "name", "touch"]
    assert parsed == []


def _class_bases_of_tree(info: ModuleInfo) -> ClassBases:
    """class_bases as it was read off the module's tree."""
    found: ClassBases = {}
    for stmt in info.tree.body:
        if not isinstance(stmt, ast.ClassDef):
            continue
        bases = [canonical(resolved) for b in stmt.bases if (resolved := info.resolve(b))]
        defined: set[str] = set()
        for child in stmt.body:
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                defined.add(child.name)
            elif isinstance(child, ast.Assign | ast.AnnAssign):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                defined.update(t.id for t in targets if isinstance(t, ast.Name))
        found[f"{info.name}.{stmt.name}"] = (bases, defined)
    return found


def test_class_bases_from_the_facts_are_the_trees_on_the_testdata() -> None:
    files = [SourceFile(p, str(p.relative_to(TESTDATA))) for p in sorted(TESTDATA.rglob("*.py"))]
    index = ProjectIndex(files)
    compared = 0
    for info in index.modules(b"class"):
        assert list(class_bases(info).items()) == list(_class_bases_of_tree(info).items())
        compared += b"class " in info.data
    assert compared > 50


def test_requests_plan_reads_depends_and_includes_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _index(
        tmp_path,
        {
            "clients.py": (
                "import requests\n"
                "def fetch():\n"
                "    return requests.get('http://x')\n"
                "def other():\n"
                "    return requests.get('http://y')\n"
            ),
            # an aliased Depends, and a `dependency=` that wins over the positional one
            "routes.py": (
                "from fastapi import Depends as Dep, Security\n"
                "from clients import fetch, other\n"
                "def read(a=Dep(fetch), b=Security(fetch, dependency=other)): ...\n"
            ),
        },
    )
    list(index.modules())
    parsed = _spy_on_parses(monkeypatch)
    plans = plan_requests(index, Config())
    assert plans["clients.py"]["dependencies"] == ["fetch", "other"]
    assert "routes.py" not in parsed  # its calls come from the index's facts


@pytest.mark.parametrize(
    ("source", "spelt"),
    [
        ("import requests\nasync def f():\n    return requests.get('x')\n", True),
        # the import inside a def, a call in a nested sync def and one in a decorator
        ("async def f():\n    import requests\n    def g():\n        s.post()\n", True),
        ("from requests import Session\n@app.get('/')\nasync def f(): ...\n", True),
        ("from requests.adapters import A\nclass C:\n    async def m(self): x.get()\n", True),
        # a sync def's call, a relative import, another module of a like name
        ("import requests\ndef f():\n    return requests.get('x')\n", False),
        ("from .requests import get\nasync def f():\n    return get('x')\n", False),
        ("import requestsx\nasync def f():\n    return requestsx.get('x')\n", False),
        ("import requests\nasync def f():\n    return requests.fetch('x')\n", False),
    ],
)
def test_requests_plans_screen_from_facts_is_may_be_spelt(
    tmp_path: Path, source: str, spelt: bool
) -> None:
    from asyncfix.codemods.http_client.blocking_apis import REQUESTS
    from asyncfix.codemods.http_client.requests_plan import _requesting, _requests_spelt

    index = _index(tmp_path, {"m.py": source})
    assert [info.path for info in _requesting(index)] == (["m.py"] if spelt else [])
    (info,) = index.modules(b"requests")
    assert REQUESTS.may_be_spelt(ast.parse(source), ast.AsyncFunctionDef) is spelt
    assert _requests_spelt(info) is spelt


def test_requests_plan_indexes_no_module_that_spells_no_async(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the calls inside an async def count: a module spelling no `async` has none.
    from asyncfix.codemods.http_client.requests_plan import _requests_spelt

    index = _index(
        tmp_path,
        {
            "sync.py": "import requests\ndef f():\n    return requests.get('x')\n",
            "spelt.py": "import requests\nasync def f():\n    return requests.get('x')\n",
        },
    )
    parsed = _spy_on_parses(monkeypatch)
    plan_requests(index, Config())
    assert parsed == ["spelt.py"]
    # and on the testdata: no module spelling `requests` but not `async` is spelt
    files = [SourceFile(p, str(p.relative_to(TESTDATA))) for p in sorted(TESTDATA.rglob("*.py"))]
    unspelt = [
        info for info in ProjectIndex(files).modules(b"requests") if b"async" not in info.data
    ]
    assert len(unspelt) >= 4
    assert not any(_requests_spelt(info) for info in unspelt)


def _given_alone_is_whole(
    index_of: Callable[[list[str] | None], ProjectIndex],
    plan_of: Callable[[ProjectIndex], Mapping[str, Any] | None] = project_plan,
) -> None:
    """A plan made given each file alone gives that file the entry the plan of the whole
    project gives it (forgotten-await's and AF404's make only the given files' entries,
    or little more)."""
    whole = plan_of(index_of(None)) or {}
    for file in index_of(None).files:
        alone = plan_of(index_of([file.display])) or {}
        assert alone.get(file.display) == whole.get(file.display), file.display


def test_forgotten_awaits_plan_given_one_file_is_the_whole_projects_entry(
    tmp_path: Path,
) -> None:
    # `get` is a coroutine method in one class and a plain one in a module no consumer
    # imports; `fetch` is async only; a fullwidth `send` is `send` (NFKC), plain in `Cache`.
    # `café` is plain in a Latin-1 module that a search of the text as UTF-8 cannot read,
    # and which only a full run looks at first (a consumer: it has `async` and imports).
    (tmp_path / "app").mkdir()
    (tmp_path / "app/mail.py").write_bytes(
        "# -*- coding: latin-1 -*-\n# async\nfrom . import store\n\n\nclass Mail:\n"
        "    def café(self):\n        pass\n".encode("latin-1")
    )
    _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": (
                "class Store:\n    async def get(self):\n        pass\n"
                "    async def fetch(self):\n        pass\n"
                "    async def \uff53\uff45\uff4e\uff44(self):\n        pass\n"  # (send)
                "    async def café(self):\n        pass\n"
            ),
            "app/cache.py": (
                "class Cache:\n    def get(self):\n        pass\n\n    def send(self):\n"
                "        pass\n"
            ),
            "app/use.py": (
                "from app.store import Store\n\n\nasync def main(s: Store):\n"
                "    s.get()\n    s.fetch()\n    s.send()\n    s.café()\n"
            ),
            "app/other.py": "from . import store\n\n\nasync def go():\n    store.Store().get()\n",
        },
    )
    files, _ = discover([tmp_path], ())

    def index_of(given: list[str] | None) -> ProjectIndex:
        return ProjectIndex(files, given=given)

    _given_alone_is_whole(index_of)
    plan = project_plan(index_of(["app/use.py"])) or {}
    assert plan["app/use.py"]["ambiguous"] == ["café", "get", "send"]


@pytest.mark.parametrize("case", tree_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plans_given_one_file_on_the_golden_projects(case: Path) -> None:
    files = [
        SourceFile(p, str(p.relative_to(TESTDATA))) for p in sorted((case / "input").rglob("*.py"))
    ]
    _given_alone_is_whole(lambda given: ProjectIndex(files, given=given))
    _given_alone_is_whole(lambda given: ProjectIndex(files, given=given), sync_def_plan)
    _given_alone_is_whole(lambda given: ProjectIndex(files, given=given), _blocking_plan)
    for file in files:
        _judged_as_before(files, [file.display])
        _lifespan_as_before(files, [file.display])


def _blocking_plan(index: ProjectIndex) -> Mapping[str, Any] | None:
    return BlockingCalls.plan(index, Config())


def _lifespan_plan(files: list[SourceFile]) -> Callable[[ProjectIndex], Mapping[str, Any] | None]:
    """The lifespan family's plan as a run makes it: test code sealed (see sealed_tests)."""
    return lambda index: OnEventToLifespan.plan(sealed_tests(index, files, Config()), Config())


def _lifespan_as_before(files: list[SourceFile], given: list[str]) -> None:
    """The lifespan family's plan given `given` gives them the entries it gave when it
    made every module's entry whole. (Not always the entries of a run given every file:
    a decision that needs a change in a file not given is refused.)"""
    index = ProjectIndex(files, given=given)
    before = ProjectIndex(files, given=given)
    before._asked = None  # (as if every entry were read: the plan then makes them all)
    plan = _lifespan_plan(files)(index) or {}
    made = _lifespan_plan(files)(before) or {}
    assert {p: plan.get(p) for p in given} == {p: made.get(p) for p in given}, given


def test_lifespan_plan_given_one_file_is_the_whole_projects_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A per-call client outside a path operation, in a function a path operation calls:
    # its entry names the handler it runs under, found over the whole project. One such
    # function is test code, which the family's plan reads sealed (never to change) even
    # when it is the file given: its entry is still the whole plan's.
    helper = (
        "import aiohttp\n\n\nasync def {}():\n"
        "    async with aiohttp.ClientSession() as session:\n"
        "        return await session.get('x')\n"
    )
    _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": (
                "from fastapi import FastAPI\nfrom app.svc import fetch\n"
                "from tests.helpers import probe\n\napp = FastAPI()\n\n\n@app.get('/')\n"
                "async def root():\n    await probe()\n    return await fetch()\n"
            ),
            "app/svc.py": helper.format("fetch"),
            "tests/__init__.py": "",
            "tests/helpers.py": helper.format("probe"),
        },
    )
    files, _ = discover([tmp_path], ())

    def index_of(given: list[str] | None) -> ProjectIndex:
        return ProjectIndex(files, given=given)

    plan = _lifespan_plan(files)
    whole = plan(index_of(None)) or {}
    assert whole["app/svc.py"]["per_call"]["fetch:0"].startswith(
        "runs per request or message (under root)"
    )
    assert whole["tests/helpers.py"]["per_call"]["probe:0"].startswith(
        "runs per request or message (under root)"
    )
    _given_alone_is_whole(index_of, plan)
    for file in files:
        _lifespan_as_before(files, [file.display])
    # Given a file with no such site, what runs per request is not looked for.
    searched: list[ProjectIndex] = []

    def searching(index: ProjectIndex, routes: frozenset[str]) -> dict[str, str]:
        searched.append(index)
        return per_request(index, routes)

    monkeypatch.setattr(plan_clients, "per_request", searching)
    assert plan(index_of(["app/main.py"])) is not None
    assert searched == []
    plan(index_of(["tests/helpers.py"]))
    assert len(searched) == 1


class _JudgingAll(ProjectIndex):
    """An index that does not tell the plans which files are given (`outside` still
    does): AF601's plan then judges every candidate, as before it judged only the given
    modules' candidates."""

    @property
    def given(self) -> frozenset[str] | None:
        return None


def _judged_as_before(files: list[SourceFile], given: list[str]) -> None:
    """AF601's plan given `given` gives them the entries it gave when it judged every
    candidate of the project."""
    config = Config(families={"async_def": {"closed-world": True}})  # (public names too)
    plan = async_def_plan(ProjectIndex(files, given=given), config)
    before = async_def_plan(_JudgingAll(files, given=given), config)
    assert {p: plan.get(p) for p in given} == {p: before.get(p) for p in given}, given


def test_af404s_plan_given_one_file_is_the_whole_projects_entry(tmp_path: Path) -> None:
    # A provider of a sync session, a route depending on it, a use of the route, an
    # imported factory: each entry kind, given each file alone.
    _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": (
                "from sqlalchemy import create_engine\n"
                "from sqlalchemy.orm import sessionmaker\n\n"
                'engine = create_engine("sqlite://")\n'
                "SessionLocal = sessionmaker(bind=engine)\n\n\n"
                "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n"
                "    finally:\n        db.close()\n"
            ),
            "app/routes.py": (
                "from fastapi import APIRouter, Depends\n\n"
                "from app.db import SessionLocal, get_db\n\n"
                "router = APIRouter()\n\n\n"
                '@router.get("/")\nasync def read(db=Depends(get_db)):\n'
                "    return db.query(1)\n\n\n"
                "async def helper():\n    return SessionLocal()\n"
            ),
            "app/other.py": (
                "from app.routes import read\n\n\nasync def again():\n    return await read()\n"
            ),
        },
    )
    files, _ = discover([tmp_path], ())

    def index_of(given: list[str] | None) -> ProjectIndex:
        return ProjectIndex(files, given=given)

    whole = sync_def_plan(index_of(None))
    assert set(whole["app/routes.py"]) == {"imported", "providers", "used"}
    _given_alone_is_whole(index_of, sync_def_plan)


def test_blocking_plan_given_one_file_is_the_whole_projects_entry(tmp_path: Path) -> None:
    # Two modules with sites of one blocking helper, one with a site of a helper that
    # only a third module's function makes blocking (reached from another module).
    _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/low.py": "import time\n\n\ndef pause():\n    time.sleep(1)\n",
            "app/mid.py": "from app.low import pause\n\n\ndef wait():\n    pause()\n",
            "app/a.py": "from app.low import pause\n\n\nasync def go():\n    pause()\n",
            "app/b.py": (
                "from app.low import pause\nfrom app.mid import wait\n\n\n"
                "async def run():\n    pause()\n    wait()\n"
            ),
        },
    )
    files, _ = discover([tmp_path], ())

    def index_of(given: list[str] | None) -> ProjectIndex:
        return ProjectIndex(files, given=given)

    whole = _blocking_plan(index_of(None)) or {}
    assert set(whole) == {"app/a.py", "app/b.py"}
    assert whole["app/b.py"]["run"]["wait"] == "wait -> pause -> time.sleep"
    _given_alone_is_whole(index_of, _blocking_plan)
    assert set(_blocking_plan(index_of(["app/a.py"])) or {}) == {"app/a.py"}


def test_af601s_plan_judges_the_given_modules_candidates_as_before(tmp_path: Path) -> None:
    # A candidate awaited in another module (converted only when both are given), one
    # used other than awaited, a method another class overrides, a dropped call.
    _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": (
                "async def helper():\n    return 1\n\n\nasync def stored():\n    return 2\n\n\n"
                "class Base:\n    async def get(self):\n        return 3\n"
            ),
            "app/b.py": (
                "from app.a import helper, stored\n\nHANDLERS = [stored]\n\n\n"
                "async def go():\n    await helper()\n    helper()\n"
            ),
            "app/c.py": (
                "from app.a import Base\n\n\nclass Child(Base):\n"
                "    async def get(self):\n        return 4\n"
            ),
        },
    )
    files, _ = discover([tmp_path], ())
    config = Config(families={"async_def": {"closed-world": True}})
    whole = async_def_plan(ProjectIndex(files), config)
    assert whole["app/a.py"]["convert"] == ["helper"]
    assert whole["app/b.py"]["names"] == ["helper"]
    for given in (["app/a.py"], ["app/b.py"], ["app/a.py", "app/b.py"], ["app/c.py"]):
        _judged_as_before(files, given)
    both = async_def_plan(ProjectIndex(files, given=["app/a.py", "app/b.py"]), config)
    assert {p: both[p] for p in ("app/a.py", "app/b.py")} == {
        p: whole[p] for p in ("app/a.py", "app/b.py")
    }


def test_af601s_searches_given_one_file_find_what_the_whole_searches_find(
    tmp_path: Path,
) -> None:
    # `n` is a candidate method of the given module, and a method of a class local to a
    # function elsewhere, in a module whose class D has a method named like another
    # candidate (`m`, not given). `café` is a candidate too, and a method in a Latin-1
    # module whose words (read as UTF-8) do not spell it: a whole search finds that module
    # for `m` and reads its classes, which a search for the given names alone would not.
    (tmp_path / "app").mkdir()
    (tmp_path / "app/mail.py").write_bytes(
        "# -*- coding: latin-1 -*-\nclass Mail:\n    def café(self):\n        pass\n\n"
        "    def m(self):\n        pass\n".encode("latin-1")
    )
    _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": (
                "class A:\n    async def n(self):\n        return 1\n\n"
                "    async def café(self):\n        return 1\n\n\n"
                "async def _lone():\n    return 1\n"
            ),
            "app/b.py": "class B:\n    async def m(self):\n        return 2\n",
            "app/c.py": (
                "class D:\n    def m(self):\n        pass\n\n\n"
                "def f():\n    class Local:\n        def n(self):\n            pass\n\n"
                "    return Local\n"
            ),
            "app/use.py": (
                "from app.a import A, _lone\n\n\nasync def go(a: A):\n"
                "    await a.n()\n    await a.café()\n    await _lone()\n"
            ),
        },
    )
    files, _ = discover([tmp_path], ())
    for file in files:
        _judged_as_before(files, [file.display])
    _judged_as_before(files, ["app/a.py", "app/use.py"])
    config = Config(families={"async_def": {"closed-world": True}})
    refused = async_def_plan(ProjectIndex(files, given=["app/a.py"]), config)["app/a.py"]["refuse"]
    assert "Local also defines n()" in refused["A.n"]
    assert "Mail also defines café()" in refused["A.café"]


@pytest.mark.parametrize("other", [True, False])
def test_blocking_plan_given_one_file_past_a_direct_blocking_call(
    tmp_path: Path, other: bool
) -> None:
    # `setup` calls time.sleep only in an except block, so it blocks through `slow` alone,
    # whose module the whole search reaches only from another module's async def
    # (`other`): a search from `a.py` alone cannot tell, and takes the whole one. `fast`
    # blocks through `quick`, which `b.py` alone reaches.
    files = {
        "app/__init__.py": "",
        "app/slow.py": "import time\n\n\ndef slow():\n    time.sleep(1)\n",
        "app/low.py": (
            "import time\n\nfrom app.slow import slow\n\n\n"
            "def setup():\n    try:\n        slow()\n    except OSError:\n"
            "        time.sleep(1)\n\n\ndef quick():\n    time.sleep(0)\n\n\n"
            "def fast():\n    quick()\n"
        ),
        "app/a.py": "from app.low import setup\n\n\nasync def go():\n    setup()\n",
        "app/b.py": "from app.low import fast\n\n\nasync def run():\n    fast()\n",
    }
    if other:
        files["app/c.py"] = "from app.slow import slow\n\n\nasync def later():\n    slow()\n"
    # (the search from the given modules is made when they are a quarter of those holding
    # `async` or fewer)
    files.update({f"app/more{i}.py": f"async def more{i}():\n    pass\n" for i in range(4)})
    _index(tmp_path, files)
    found, _ = discover([tmp_path], ())

    def index_of(given: list[str] | None) -> ProjectIndex:
        return ProjectIndex(found, given=given)

    whole = _blocking_plan(index_of(None)) or {}
    assert ("app/a.py" in whole) is other
    assert whole["app/b.py"]["run"]["fast"] == "fast -> quick -> time.sleep"
    _given_alone_is_whole(index_of, _blocking_plan)
