"""db_session family: its options, and the parts the golden cases do not show on their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asyncfix.cli import main
from asyncfix.codemods.db_session import Options, family_options
from asyncfix.codemods.db_session.plan import _FROM_PACKAGE, _SYNC_SESSION_WORD
from asyncfix.config import Config, ConfigError, parse_table
from asyncfix.driver import Pipeline
from asyncfix.files import SourceFile

TUTORIAL = """\
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""


def options(table: dict[str, object]) -> Options:
    return family_options(parse_table({"db_session": table}, None))


def test_commit_on_exit_defaults_to_true_and_can_be_turned_off() -> None:
    assert family_options(Config()).commit_on_exit is True
    assert options({"commit-on-exit": False}).commit_on_exit is False
    assert options({"commit-on-exit": True}).commit_on_exit is True


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"commit-on-exit": "false"}, "commit-on-exit must be true or false, not 'false'"),
        ({"commit-on-exit": 0}, "commit-on-exit must be true or false, not 0"),
        ({"commit_on_exit": False}, "unknown key 'commit_on_exit' (known: commit-on-exit)"),
    ],
)
def test_bad_options_are_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        options(table)


def test_bad_options_are_a_usage_error_before_any_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.asyncfix.db_session]\ncommit-on-exit = "no"\n')
    (tmp_path / "deps.py").write_text(TUTORIAL)
    result = CliRunner(mix_stderr=False).invoke(main, ["apply", "deps.py"])
    assert result.exit_code == 2
    assert "commit-on-exit must be true or false" in result.stderr
    assert (tmp_path / "deps.py").read_text() == TUTORIAL


def test_commit_on_exit_from_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.asyncfix.db_session]\ncommit-on-exit = false\n")
    (tmp_path / "deps.py").write_text(TUTORIAL)
    result = CliRunner(mix_stderr=False).invoke(main, ["apply", "--select", "AF401", "deps.py"])
    assert result.exit_code == 0, result.output + result.stderr
    fixed = (tmp_path / "deps.py").read_text()
    assert "with SessionLocal() as db:" in fixed and "db.rollback()" in fixed
    assert "commit" not in fixed


def run(source: str, *select: str) -> tuple[str, list[str]]:
    pipeline = Pipeline(Config(select=select or ("db_session",)))
    outcome = pipeline.process(SourceFile(Path("x.py"), "x.py"), source.encode())
    assert not outcome.errors, outcome.errors
    text = (outcome.new or source.encode()).decode()
    return text, [f"{f.line}:{f.code}:{f.reason}" for f in outcome.findings]


def test_exception_rebound_in_the_module_is_refused() -> None:
    source = TUTORIAL + "\n\nException = RuntimeError\n"
    text, findings = run(source)
    assert text == source
    assert findings == ["6:AF401:the name `Exception` is rebound in this module"]


def test_unselected_codes_neither_fix_nor_report() -> None:
    source = (
        "from sqlalchemy.orm import sessionmaker\n\nfrom app import engine\n\n\n"
        "def get_db():\n    Factory = sessionmaker(bind=engine)\n"
        "    db = Factory()\n    try:\n        yield db\n    finally:\n        db.close()\n"
    )
    # Without AF402 the factory stays in the function, so AF401 cannot prove it and says so.
    text, findings = run(source, "AF401")
    assert text == source
    assert findings == ["6:AF401:`Factory` is built inside the function on every call (AF402)"]
    # Both: hoisted, then the scope; findings point at the lines as written.
    text, findings = run(source, "AF401", "AF402")
    assert (
        "Factory = sessionmaker(bind=engine)\n\n\ndef get_db():\n    with Factory() as db:" in text
    )
    assert findings == ["6:AF401:", "7:AF402:"]


_AF404_HEADER = (
    "from fastapi import APIRouter\nfrom sqlalchemy import create_engine\n\n"
    'engine = create_engine("sqlite://")\n\n\n'
)
_AF404_USE = (
    "        with engine.connect() as conn:\n            conn.exec_driver_sql('SELECT 1')\n"
)


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        # The screen finds a route wherever a def can stand.
        ("def make(router):\n    @router.get('/')\n    async def health():\n" + _AF404_USE, True),
        ("if True:\n    @APIRouter().get('/')\n    async def health():\n" + _AF404_USE, True),
        ("class C:\n    @APIRouter().get('/')\n    async def health(self):\n" + _AF404_USE, True),
        # No route: nothing for AF404, and the file is not parsed by libcst at all.
        ("if True:\n    async def health():\n" + _AF404_USE, False),
        ("if True:\n    @APIRouter().get('/')\n    def health():\n" + _AF404_USE, False),
    ],
)
def test_af404_screen_finds_routes_in_any_block(body: str, reported: bool) -> None:
    source = (_AF404_HEADER + body).encode()
    pipeline = Pipeline(Config(select=("AF404",)))
    outcome = pipeline.process(SourceFile(Path("m.py"), "m.py"), source)
    assert [f.code for f in outcome.findings] == (["AF404"] if reported else [])
    assert outcome.parsed == reported


def test_the_plans_byte_searches_find_whole_words() -> None:
    # (each pattern starts with its literal, a `\b` before it spelled as a lookbehind)
    for found in (b"db: Session = x", b"Session", b"(Session)"):
        assert _SYNC_SESSION_WORD.search(found) is not None, found
    for not_found in (b"AsyncSession", b"Sessions", b"_Session", b"session"):
        assert _SYNC_SESSION_WORD.search(not_found) is None, not_found
    for found in (b"from . import get_db", b"(from ..import x", b"from \\\n . import y"):
        assert _FROM_PACKAGE.search(found) is not None, found
    for not_found in (b"xfrom . import y", b"from .a import y", b"from . importer"):
        assert _FROM_PACKAGE.search(not_found) is None, not_found
