"""Family `awaits`: the coroutine table, the plan, and the comparison with mypy."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from asyncfix.codemods.awaits import ForgottenAwait
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config
from asyncfix.data import coroutines as table
from asyncfix.driver import Pipeline
from asyncfix.files import SourceFile, discover
from asyncfix.index import ProjectIndex

ROOT = Path(__file__).resolve().parent.parent
AWAITS = ROOT / "testdata" / "awaits"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_coroutine_table", ROOT / "scripts" / "gen_coroutine_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_knows_what_is_not_a_coroutine() -> None:
    session = table.CLASSES["sqlalchemy.ext.asyncio.AsyncSession"]
    assert {"commit", "execute", "flush", "refresh", "get"} <= set(session["coroutine"])
    assert {"add", "add_all", "expunge", "expunge_all"} <= set(session["sync"])
    # aiohttp's session.get() returns a context manager, not a coroutine.
    assert "get" in table.CLASSES["aiohttp.ClientSession"]["sync"]
    assert "get" in table.CLASSES["httpx.AsyncClient"]["coroutine"]
    assert "insert_one" in table.CLASSES["motor.motor_asyncio.AsyncIOMotorCollection"]["future"]
    assert table.FUNCTIONS["asyncio.sleep"] == "coroutine"
    assert "asyncio.gather" not in table.FUNCTIONS  # returns a future, awaited or handed on
    assert table.ALIASES["sqlalchemy.ext.asyncio.session.AsyncSession"] == (
        "sqlalchemy.ext.asyncio.AsyncSession"
    )


def test_table_matches_its_generator() -> None:
    # The hand-written parts of the generator are copied into the data verbatim; a stale
    # table (edited generator, not re-run) fails here.
    gen = _generator()
    assert gen.ENTERS == table.ENTERS
    assert gen.RETURNS == table.RETURNS
    assert gen.AWAITS_TO == table.AWAITS_TO
    assert sorted(gen.CLASSES) == sorted(table.CLASSES)


def test_plan_hands_facts_only_to_importers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "lib.py").write_text(
        "async def fetch():\n    ...\n\n\nclass C:\n    async def m(self): ...\n"
    )
    (pkg / "user.py").write_text("from .lib import fetch\n\n\nasync def go():\n    fetch()\n")
    (pkg / "other.py").write_text("async def alone():\n    return 1\n")
    files, _ = discover([Path(".")])
    plan = ForgottenAwait.plan(ProjectIndex(files), Config())
    assert plan is not None
    assert set(plan) == {"pkg/user.py"}
    assert plan["pkg/user.py"]["coroutines"] == ["pkg.lib.C.m", "pkg.lib.fetch"]
    assert plan["pkg/user.py"]["classes"] == ["pkg.lib.C"]


# -- the comparison with mypy's unused-coroutine -------------------------------------------

_MYPY_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):\d+: error: .*\[unused-coroutine\]$")
_FINDING = re.compile(r"^(?:(?P<path>[^:]+):)?(?P<line>\d+):\d+: AF501 .*\[(?P<tail>[^\]]*)\]$")
# Why AF501 may leave a site mypy reports: each is reported by AF501 with this reason.
_REPORTED_NOT_FIXED = (
    "inside a sync def it cannot be awaited",
    "outside any function it cannot be awaited",
    "awaiting while a thread lock is held",
    "which one runs depends on the instance",
)
# mypy keeps the first inferred type of a rebound name; here it is rebound to None, so the
# call raises AttributeError: not a forgotten await, and AF501 does not guess.
_MYPY_FALSE_POSITIVES = {("af501_methods_and_instances.py", 19)}


def _corpus(work: Path) -> dict[tuple[str, int], str]:
    """Copy the awaits golden inputs to `work`; (file, line) -> AF501 outcome there."""
    outcomes: dict[tuple[str, int], str] = {}
    for case in sorted(AWAITS.glob("*.input.py")):
        stem = case.name.removesuffix(".input.py")
        shutil.copy(case, work / f"{stem}.py")
        findings = case.with_name(f"{stem}.findings").read_text().splitlines()
        for line in findings:
            match = _FINDING.match(line)
            if match:
                outcomes[(f"{stem}.py", int(match["line"]))] = match["tail"]
        for number, text in enumerate(case.read_text().splitlines(), 1):
            if "asyncfix: ignore" in text:
                outcomes.setdefault((f"{stem}.py", number), "suppressed")
    for case in sorted(p.parent for p in AWAITS.glob("*/input")):
        # Directory cases are packages: side by side with the single files, one mypy run.
        for entry in (case / "input").iterdir():
            if not entry.is_dir():
                continue  # the case's project files (pyproject.toml): not code
            assert not (work / entry.name).exists(), f"two cases define {entry.name}"
            shutil.copytree(entry, work / entry.name)
        for line in (case / "findings").read_text().splitlines():
            match = _FINDING.match(line)
            if match:
                outcomes[(match["path"], int(match["line"]))] = match["tail"]
    return outcomes


def _mypy(work: Path, targets: list[str]) -> set[tuple[str, int]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--check-untyped-defs",  # the corpus is mostly unannotated, like real apps
            "--ignore-missing-imports",  # libraries without types (or not installed): Any
            "--show-column-numbers",
            "--hide-error-context",
            "--no-error-summary",
            "--no-pretty",
            "--cache-dir",  # the libraries' analysis is the slow part: keep it between runs
            str(ROOT / ".mypy_cache" / "awaits-corpus"),
            *targets,
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    reported: set[tuple[str, int]] = set()
    for line in proc.stdout.splitlines():
        match = _MYPY_LINE.match(line)
        if match:
            reported.add((match["path"].replace("\\", "/"), int(match["line"])))
    return reported


def test_every_unused_coroutine_mypy_reports_is_handled_by_af501(tmp_path: Path) -> None:
    outcomes = _corpus(tmp_path)
    reported = _mypy(tmp_path, sorted(p.name for p in tmp_path.iterdir()))
    # Without the async libraries installed mypy sees them as Any and reports fewer sites;
    # the project's own coroutines alone give more than this.
    assert len(reported) >= 12, reported
    missed = []
    for site in sorted(reported - _MYPY_FALSE_POSITIVES):
        outcome = outcomes.get(site)
        handled = outcome in ("fixable", "suppressed") or (
            outcome is not None and any(r in outcome for r in _REPORTED_NOT_FIXED)
        )
        if not handled:
            missed.append((site, outcome))
    assert not missed, missed


_SCREEN_HEADER = """\
import asyncpg
import httpx
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Maker = async_sessionmaker()


async def get_db() -> AsyncSession:
    return Maker()


async def fetch_user():
    return {"name": "a"}

"""
# Each reported alone: the screen must let each shape through by itself.
_SCREEN_REPORTED = {
    "enclosing def": "async def f(db: AsyncSession):\n    async def g():\n        db.commit()\n",
    "keyword dependency": "async def f(db=Depends(dependency=get_db)):\n    db.commit()\n",
    "annotated local": "async def f():\n    db: AsyncSession = Maker()\n    db.flush()\n",
    "factory call": "async def f():\n    db = Maker()\n    db.commit()\n",
    "entered factory": "async def f():\n    async with Maker() as db:\n        db.rollback()\n",
    "renamed": "async def f(db: AsyncSession):\n    session = db\n    session.commit()\n",
    "awaited": "async def f(dsn):\n    conn = await asyncpg.connect(dsn)\n    conn.close()\n",
    "result in a comprehension": (
        "async def f():\n    user = fetch_user()\n    return [user[k] for k in 'ab']\n"
    ),
    "match case": (
        "async def f(db: AsyncSession, c):\n    match c:\n"
        "        case 1:\n            db.commit()\n"
    ),
    "method under an if": (
        "class C:\n    if True:\n        async def load(self):\n            pass\n\n"
        "        async def save(self):\n            self.load()\n"
    ),
    # A name the module imports, bound again where the call looks it up first.
    "import shadowed by an enclosing def": (
        "import db\n\n\nasync def f():\n    db = Maker()\n\n"
        "    async def g():\n        db.commit()\n"
    ),
    "import shadowed in a class body": (
        "import db\n\n\nclass C:\n    db = Maker()\n    db.commit()\n"
    ),
    "import shadowed by a parameter": (
        "import db\n\n\nasync def f(db: AsyncSession):\n    db.commit()\n"
    ),
}
# Calls of coroutine method names that the screen proves the transform leaves alone.
_SCREEN_REJECTED = {
    "sync result": (
        "async def f(db: AsyncSession, q):\n    result = await db.execute(q)\n"
        "    return result.scalars()\n"
    ),
    "sync response": (
        "async def f(client: httpx.AsyncClient):\n    r = await client.get('/')\n"
        "    return r.json()\n"
    ),
    "returned": "async def f(db: AsyncSession):\n    row = db.get(int, 1)\n    return row\n",
    "rebound": "async def f():\n    db = None\n    db = Maker()\n    db.commit()\n",
    # A module's function whose name is also a coroutine method's: the receiver is an
    # import, which `type_of` gives no class.
    "imported module in a def": (
        "import time\n\n\nclass Clock:\n    async def sleep(self):\n        pass\n\n\n"
        "async def f():\n    time.sleep(1)\n"
    ),
    "imported module at module level": (
        "import unittest\n\n\nasync def main():\n    pass\n\n\n"
        "if __name__ == '__main__':\n    unittest.main()\n"
    ),
}


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        *((b, True) for b in _SCREEN_REPORTED.values()),
        *((b, False) for b in _SCREEN_REJECTED.values()),
    ],
    ids=[*_SCREEN_REPORTED, *_SCREEN_REJECTED],
)
def test_screen_passes_what_the_transform_reports(body: str, reported: bool) -> None:
    source = (_SCREEN_HEADER + "\n" + body).encode()
    view = SourceView("m.py", source, ast.parse(source), Config(), frozenset())
    outcome = Pipeline(Config(), [ForgottenAwait]).process(SourceFile(Path("m.py"), "m.py"), source)
    assert bool(outcome.findings) == reported, outcome.findings
    assert ForgottenAwait.prescreen(view) == reported
