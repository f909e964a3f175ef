"""Issue 22 item 2: the one table of versions a rewrite relies on, read from every place a
project declares or locks them."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from asyncfix.config import parse_table
from asyncfix.project import declared_versions
from asyncfix.versions import (
    ASYNCIO_TASK_GROUP,
    ASYNCIO_TO_THREAD,
    FASTAPI_EXIT_BEFORE_RESPONSE,
    FASTAPI_LIFESPAN,
    ORJSON_OPTIONS,
    SQLALCHEMY_ASYNC_SESSIONMAKER,
    TABLE,
    Needs,
    missing,
)


def check(tmp_path: Path, files: dict[str, str], need: Needs, **table: str) -> str | None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    source = tmp_path / "pyproject.toml"
    if not source.exists():
        source.write_text("")
    declared_versions.cache_clear()
    return missing(parse_table(dict(table), source), need)


OLD_FASTAPI = [
    {"pyproject.toml": '[project]\ndependencies = ["fastapi==0.88.0"]\n'},
    {"pyproject.toml": '[project.optional-dependencies]\nweb = ["fastapi<0.90"]\n'},
    {"pyproject.toml": '[tool.poetry.dependencies]\nfastapi = "^0.85"\n'},
    {"pyproject.toml": '[tool.poetry.group.web.dependencies]\nfastapi = {version = "~0.80"}\n'},
    {"pyproject.toml": '[tool.pdm.dev-dependencies]\ntest = ["fastapi>=0.70,<0.92"]\n'},
    {"requirements-prod.txt": "uvicorn\nfastapi==0.88.0  # pinned\n"},
    {"setup.cfg": "[options]\ninstall_requires =\n    uvicorn\n    fastapi>=0.60,<1\n"},
    {"uv.lock": '[[package]]\nname = "fastapi"\nversion = "0.88.0"\n'},
    {"poetry.lock": '[[package]]\nname = "FastAPI"\nversion = "0.92.1"\n'},
    {"pdm.lock": '[[package]]\nname = "fastapi"\nversion = "0.65.2"\n'},
]


@pytest.mark.parametrize("files", OLD_FASTAPI)
def test_every_declaration_that_admits_an_old_version_refuses(
    tmp_path: Path, files: dict[str, str]
) -> None:
    reason = check(tmp_path, files, FASTAPI_LIFESPAN)
    assert reason is not None and "fastapi >= 0.93" in reason


@pytest.mark.parametrize(
    "files",
    [
        {},  # nothing declared: today's behaviour
        {"requirements.txt": "fastapi\n"},  # unpinned: no version declared
        {"pyproject.toml": '[project]\ndependencies = ["fastapi>=0.100"]\n'},
        {"setup.cfg": "[options]\ninstall_requires = fastapi~=0.110.0\n"},
        # The lock wins over the declared range.
        {
            "requirements.txt": "fastapi>=0.80\n",
            "uv.lock": '[[package]]\nname = "fastapi"\nversion = "0.115.0"\n',
        },
    ],
)
def test_declarations_with_the_api_or_none_do_not_refuse(
    tmp_path: Path, files: dict[str, str]
) -> None:
    assert check(tmp_path, files, FASTAPI_LIFESPAN) is None


def test_a_lock_file_is_read_again_once_it_changes(tmp_path: Path) -> None:
    # (its packages are kept per process while its stat stays the same)
    lock = '[[package]]\nname = "fastapi"\nversion = "{}"\n'
    assert check(tmp_path, {"uv.lock": lock.format("0.115.0")}, FASTAPI_LIFESPAN) is None
    reason = check(tmp_path, {"uv.lock": lock.format("0.88.0")}, FASTAPI_LIFESPAN)
    assert reason is not None and "fastapi >= 0.93" in reason


def test_the_setting_wins(tmp_path: Path) -> None:
    files = {"requirements.txt": "fastapi==0.88.0\n"}
    assert check(tmp_path, files, FASTAPI_LIFESPAN, **{"fastapi-version": "0.100"}) is None
    reason = check(tmp_path, files, FASTAPI_LIFESPAN, **{"fastapi-version": ">=0.90"})
    assert reason is not None and "versions before 0.93" in reason


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        ("==0.110.0", False),
        ("~=0.110.0", False),
        (">=0.106,<0.118", False),
        (">=0.110", True),
        ("<0.110", True),
        ("==0.121.0", True),
    ],
)
def test_a_window_is_checked_at_both_ends(tmp_path: Path, spec: str, refused: bool) -> None:
    files = {"requirements.txt": f"fastapi{spec}\n"}
    assert (check(tmp_path, files, FASTAPI_EXIT_BEFORE_RESPONSE) is not None) is refused


@pytest.mark.parametrize(
    ("files", "need", "refused"),
    [
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.8"\n'}, ASYNCIO_TO_THREAD, True),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.9"\n'}, ASYNCIO_TO_THREAD, False),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.9"\n'}, ASYNCIO_TASK_GROUP, True),
        ({"setup.cfg": "[options]\npython_requires = >=3.11\n"}, ASYNCIO_TASK_GROUP, False),
        (
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.7"\n'},
            ASYNCIO_TO_THREAD,
            True,
        ),
        ({"requirements.txt": "sqlalchemy>=1.4,<3\n"}, SQLALCHEMY_ASYNC_SESSIONMAKER, True),
        (
            {"requirements.txt": "SQLAlchemy[asyncio]>=2.0.1\n"},
            SQLALCHEMY_ASYNC_SESSIONMAKER,
            False,
        ),
        ({"requirements.txt": "orjson>=2.4\n"}, ORJSON_OPTIONS["OPT_SORT_KEYS"], False),
        ({"requirements.txt": "orjson>=2.4\n"}, ORJSON_OPTIONS["OPT_NON_STR_KEYS"], True),
        ({"requirements.txt": "orjson>=2.5\n"}, ORJSON_OPTIONS["OPT_INDENT_2"], True),
    ],
)
def test_python_and_libraries(
    tmp_path: Path, files: dict[str, str], need: Needs, refused: bool
) -> None:
    reason = check(tmp_path, files, need)
    assert (reason is not None) is refused
    assert reason is None or str(need.since) in reason


def test_every_entry_cites_its_changelog() -> None:
    module = sys.modules[Needs.__module__]
    source = inspect.getsource(module)
    entries = {k: v for k, v in vars(module).items() if isinstance(v, Needs)}
    assert set(TABLE) == {*entries.values(), *ORJSON_OPTIONS.values()}
    for name in [*entries, "ORJSON_OPTIONS"]:
        comment = source[: source.index(f"\n{name} = ")].rsplit("\n\n", 1)[-1]
        assert any(k in comment.lower() for k in ("changelog", "release notes", "what's new"))
        assert "https://" in comment, name


def test_the_installed_libraries_agree_with_the_table() -> None:
    # What can be seen from here: the APIs exist from the versions the table names.
    assert hasattr(asyncio, "TaskGroup") is (sys.version_info >= (3, 11))
    assert hasattr(asyncio, "to_thread")
    import orjson

    assert Version(importlib.metadata.version("orjson")) >= max(
        n.since for n in ORJSON_OPTIONS.values()
    )
    assert all(hasattr(orjson, flag) for flag in ORJSON_OPTIONS)
    fastapi = pytest.importorskip("fastapi")
    assert Version(fastapi.__version__) >= FASTAPI_LIFESPAN.since
    assert "lifespan" in inspect.signature(fastapi.FastAPI).parameters


def test_a_project_without_pyproject_or_git_reads_the_requirements_where_the_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unpacked archive: no pyproject.toml, no .git; its requirements.txt pins a FastAPI
    # without lifespan=, which must still refuse the rewrite (the startup would never run).
    from click.testing import CliRunner

    from asyncfix.cli import main

    (tmp_path / "requirements.txt").write_text("fastapi==0.63.0\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.on_event("startup")\nasync def start():\n    app.state.ready = True\n'
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["apply", "--dry-run", "--no-cache", "."])
    assert "fastapi==0.63.0 in requirements.txt admits versions before 0.93" in result.output
    assert "+++" not in result.output
