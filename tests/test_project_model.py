"""The project model: which module a name is, as Python sees it (import roots, scripts
that see their own directory, same-named modules of different services), and runs on a
part of a project's files, which still decide on the whole project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from asyncfix.cache import ResultCache
from asyncfix.cli import main
from asyncfix.config import Config
from asyncfix.driver import run
from asyncfix.files import discover
from asyncfix.index import AMBIGUOUS, ProjectIndex, use_layout
from asyncfix.project import Layout, Resolved, project_root

GOLDEN = Path(__file__).resolve().parent.parent / "testdata" / "lifespan"
SERVICES = GOLDEN / "services_same_module_name"

# Imports one service's app from its own directory, as `uvicorn main:app` run there does,
# and runs its lifespan (startup, one request, shutdown) through Starlette's TestClient.
_SERVE = """\
import json, warnings
warnings.simplefilter("error", DeprecationWarning)  # on_event is gone from the output
from starlette.testclient import TestClient
import main, state
with TestClient(main.app) as client:
    during = client.get("/").json()
print(json.dumps({"during": during, "after": state.EVENTS}))
"""


@pytest.mark.parametrize(
    ("service", "name"), [("svc_a", "a"), ("svc_b", "b")], ids=["sync", "async"]
)
def test_each_rewritten_service_starts_and_stops(service: str, name: str) -> None:
    directory = SERVICES / "expected" / service
    assert "on_event" not in (directory / "main.py").read_text()
    done = subprocess.run(
        [sys.executable, "-c", _SERVE],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    assert events == {
        "during": [f"{name} started"],
        "after": [f"{name} started", f"{name} stopped"],
    }


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _layout(root: Path, files: dict[str, str]) -> tuple[Layout, Path]:
    """The layout of a project made of `files` at `root`, and the resolved root."""
    _write(root, files)
    found, _ = discover([root])
    return Layout.of(project_root([root]), [f.path.resolve() for f in found]), root.resolve()


def test_same_named_modules_are_told_apart_and_resolved_per_importer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    layout, root = _layout(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "svc_a/main.py": "from db import connect\n",
            "svc_a/db.py": "def connect(): ...\n",
            "svc_b/main.py": "from db import connect\n",
            "svc_b/db.py": "async def connect(): ...\n",
            "tests/test_main.py": "from main import app\nimport db\n",
            "lib/pkg/__init__.py": "",
            "lib/pkg/util.py": "from . import db\nfrom .db import engine\n",
            "lib/pkg/db.py": "engine = 1\n",
            "shop/__init__.py": "",
            "shop/main.py": "from src.config import settings\n",
            "shop/src/__init__.py": "",
            "shop/src/config.py": "settings = {}\n",
        },
    )
    assert layout.name_of(root / "svc_a" / "main.py") == "svc_a.main"
    assert layout.name_of(root / "svc_b" / "db.py") == "svc_b.db"
    # A script sees its own directory first.
    found = layout.resolve(root / "svc_b" / "main.py", "db.connect")
    assert found is not None and found.qualname == "svc_b.db.connect"
    # From elsewhere, two modules can be `main`: ambiguous, both named.
    found = layout.resolve(root / "tests" / "test_main.py", "main.app")
    assert found is not None and found.candidates == (
        str(root / "svc_a" / "main.py"),
        str(root / "svc_b" / "main.py"),
    )
    # A service run from its own directory beside a stray __init__.py sees it too.
    found = layout.resolve(root / "shop" / "main.py", "src.config.settings")
    assert found is not None and found.qualname == "shop.src.config.settings"
    # A library is none of the project's modules.
    assert layout.resolve(root / "tests" / "test_main.py", "fastapi.FastAPI") is None
    # A package of a directory that is on no import root still resolves within itself.
    use_layout(layout)
    try:
        index = ProjectIndex(discover([Path(".")])[0])
        util = index.by_name("pkg.util")
        assert util is not None
        assert util.imports == {"db": "pkg.db", "engine": "pkg.db.engine"}
        test = index.by_name("test_main")
        assert test is not None
        assert test.imports["app"] == f"{AMBIGUOUS}.main.app"
        assert test.ambiguous["app"] == ("svc_a/main.py", "svc_b/main.py")
    finally:
        use_layout(None)


def test_declared_import_roots(tmp_path: Path) -> None:
    # Each module has a same-named decoy elsewhere: only the import roots the project
    # declares tell which one an import from tests/ is (else it would be ambiguous).
    layout, root = _layout(
        tmp_path,
        {
            "pyproject.toml": """\
                [tool.setuptools]
                package-dir = {"shared" = "common/shared"}
                [tool.setuptools.packages.find]
                where = ["lib"]
                [tool.pytest.ini_options]
                pythonpath = ["services/api"]
                [tool.mypy]
                mypy_path = "stubs"
                """,
            "ruff.toml": "src = ['web']\n",
            "lib/core/__init__.py": "",
            "lib/core/models.py": "",
            "common/shared/__init__.py": "",
            "common/shared/db.py": "",
            "services/api/app.py": "",
            "stubs/extra.py": "",
            "web/views.py": "",
            "tests/test_x.py": "",
            **{
                f"decoy/{rel}": ""
                for rel in [
                    "core/__init__.py",
                    "core/models.py",
                    "shared/__init__.py",
                    "shared/db.py",
                ]
            },
            **{f"decoy/{name}.py": "" for name in ["app", "extra", "views"]},
        },
    )
    importer = root / "tests" / "test_x.py"
    for dotted, file in [
        ("core.models.Model", "lib/core/models.py"),  # packages.find where
        ("shared.db.engine", "common/shared/db.py"),  # package-dir
        ("app.app", "services/api/app.py"),  # pytest's pythonpath
        ("extra.f", "stubs/extra.py"),  # mypy_path
        ("views.index", "web/views.py"),  # ruff.toml's src
    ]:
        name = layout.name_of(root / file)
        assert name is not None and name != layout.name_of(root / "decoy" / file.split("/")[-1])
        assert layout.resolve(importer, dotted) == Resolved(f"{name}.{dotted.split('.')[-1]}")
    # Namespace packages from the root.
    assert layout.resolve(importer, "decoy.app") == Resolved(
        str(layout.name_of(root / "decoy/app.py"))
    )
    # Without the settings, the same imports are ambiguous.
    bare = Layout(root, [Path(f) for f in layout.files], [root])
    found = bare.resolve(importer, "extra.f")
    assert found is not None and len(found.candidates) == 2


_TOTAL = {
    "pyproject.toml": "[project]\nname = 'shop'\n",
    "pkg/__init__.py": "",
    "pkg/a.py": """\
        async def _total(prices):
            return sum(prices)
        """,
    "pkg/b.py": """\
        import asyncio

        from pkg.a import _total


        async def report(prices):
            return await _total(prices)


        print(asyncio.run(report([1, 2])))
        """,
}


def test_a_partial_file_set_never_breaks_a_caller_outside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `asyncfix apply pkg/a.py` (a pre-commit hook gives the changed files): b.py, not
    # given, awaits _total, so converting it alone would break b.py at run time.
    _write(tmp_path, _TOTAL)
    monkeypatch.chdir(tmp_path / "pkg")  # the project root is found above the paths
    config = Config(select=("AF601",))
    result = run([Path("a.py")], config, jobs=1)
    assert [o.file.display for o in result.outcomes] == ["a.py"]  # b.py is read, not done
    assert not result.errors and result.outcomes[0].new is None
    [finding] = result.findings
    assert finding.code == "AF601" and not finding.fixable
    assert "b.py awaits it and is not among the files given" in finding.format()
    # Both given: both are rewritten, and the program still runs. (With the result
    # cache: the run of a.py alone, over the same bytes, is not this run.)
    cache = ResultCache.for_run(config, directory=tmp_path / "cache")
    run([Path("a.py")], config, jobs=1, cache=cache)
    result = run([Path("a.py"), Path("b.py")], config, jobs=1, cache=cache)
    assert [f.code for f in result.findings] == ["AF601"] and result.findings[0].fixable
    for outcome in result.outcomes:
        assert outcome.new is not None
        outcome.file.path.write_bytes(outcome.new)
    assert "await" not in (tmp_path / "pkg" / "b.py").read_text().split("def report")[1]
    done = subprocess.run(
        [sys.executable, "pkg/b.py"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3\n"


def test_a_lifespan_migration_needs_every_module_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "app/__init__.py": "",
            "app/main.py": """\
                from fastapi import FastAPI

                from app.routes import router

                app = FastAPI()
                app.include_router(router)


                @app.on_event("startup")
                def ready():
                    print("ready")
                """,
            "app/routes.py": """\
                from fastapi import APIRouter

                router = APIRouter()


                @router.on_event("startup")
                def warm():
                    print("warm")
                """,
        },
    )
    monkeypatch.chdir(tmp_path)
    config = Config(select=("AF301",))
    result = run([Path("app/main.py")], config, jobs=1)
    assert not result.errors and all(o.new is None for o in result.outcomes)
    [finding] = result.findings
    assert not finding.fixable
    assert "app/routes.py would change too and is not among the files given" in finding.format()
    # The whole project: both modules change.
    result = run([Path(".")], config, jobs=1)
    assert [o.file.display for o in result.outcomes if o.new is not None] == [
        "app/main.py",
        "app/routes.py",
    ]


def test_no_cross_file_decision_relies_on_an_ambiguous_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `main` and `util` are each two modules (svc_a/, svc_b/); gateway/ has neither.
    service = """\
        async def _total(prices):
            return sum(prices)
        """
    _write(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "svc_a/main.py": "def startup():\n    pass\n",
            "svc_b/main.py": "async def startup():\n    pass\n",
            "svc_a/util.py": service,
            "svc_b/util.py": service,
            "gateway/app.py": """\
                from fastapi import FastAPI

                from main import startup
                from util import _total

                app = FastAPI()
                app.add_event_handler("startup", startup)


                async def report(prices):
                    return await _total(prices)
                """,
        },
    )
    monkeypatch.chdir(tmp_path)
    result = run([Path(".")], Config(select=("AF301", "AF601")), jobs=1)
    assert not result.errors and all(o.new is None for o in result.outcomes)
    found = {f.format() for f in result.findings}
    assert any(
        f.startswith("gateway/app.py:7:")
        and "the handler may be in svc_a/main.py or svc_b/main.py" in f
        for f in found
    ), found
    for service in ("svc_a", "svc_b"):
        assert any(
            f.startswith(f"{service}/util.py:1:")
            and "one of svc_a/util.py, svc_b/util.py (same-named modules)" in f
            for f in found
        ), found


def test_a_client_moved_to_app_state_needs_every_module_that_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The golden case whose routers read the app module's client: given the app module
    # alone, the client stays where it is (its readers would still import it).
    shutil.copytree(GOLDEN / "client_used_by_routers" / "input", tmp_path, dirs_exist_ok=True)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    config = Config(select=("AF302",))
    result = run([Path("svc/main.py")], config, jobs=1)
    assert not result.errors and all(o.new is None for o in result.outcomes)
    [finding] = result.findings
    assert finding.code == "AF302" and not finding.fixable
    assert "svc/api/quotes.py would change too and is not among the files given" in (
        finding.format()
    )
    result = run([Path("svc/main.py"), Path("svc/api")], config, jobs=1)
    changed = [o.file.display for o in result.outcomes if o.new is not None]
    assert changed == ["svc/api/quotes.py", "svc/api/users.py", "svc/main.py"]


def test_a_package_and_a_script_of_one_name_inside_it(tmp_path: Path) -> None:
    # `app/__init__.py` is the package `app`; `app/server/app.py` (no __init__.py in
    # server/, run from there as `uvicorn app:app`) is a script also named `app`. The
    # package's top lies above the files' common directory: this crashed the run.
    layout, root = _layout(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/server/app.py": "from r import router\n",
            "app/server/r.py": "router = 1\n",
        },
    )
    assert layout.name_of(root / "app" / "__init__.py") == "app"
    assert layout.name_of(root / "app" / "server" / "app.py") == "app.server.app"
    found = layout.resolve(root / "app" / "server" / "app.py", "r.router")
    assert found is not None and found.qualname == "r.router"
    result = CliRunner().invoke(main, ["check", "--no-cache", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
