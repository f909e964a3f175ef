"""Excludes that hold (relative to the configuration, --force-exclude), per-file-ignores,
extend-select, and lists that must be lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncfix.cli import main
from asyncfix.config import Config
from asyncfix.driver import run

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
UTIL = "async def _fmt(x):\n    return str(x).upper()\n"
CALLER = "from .util import _fmt\n\n\nasync def show(send):\n    await send(await _fmt(1))\n"


def invoke(*args: str, stdin: str | None = None) -> Result:
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(main, ["check", "--no-cache", *args], input=stdin)


def _paths(result: Result) -> list[str]:
    return sorted({line.split(":")[0] for line in result.stdout.splitlines()})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("app/main.py", "app/gen/models.py", "scripts/job.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(LEGACY)
    (tmp_path / "pyproject.toml").write_text('[tool.asyncfix]\nexclude = ["/app/gen/"]\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_exclude_is_relative_to_the_configuration(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Anchored at the pyproject.toml's directory, whatever path is given or run from.
    assert _paths(invoke(".")) == ["app/main.py", "scripts/job.py"]
    assert _paths(invoke("app")) == ["app/main.py"]
    monkeypatch.chdir(project / "app")
    assert _paths(invoke(".")) == ["main.py"]


def test_force_exclude_applies_to_named_files(project: Path) -> None:
    named = "app/gen/models.py"
    assert _paths(invoke(named)) == [named]  # named on purpose: taken, as before
    forced = invoke("--force-exclude", named, "app/main.py")
    assert _paths(forced) == ["app/main.py"]
    assert invoke("--force-exclude", named).exit_code == 0
    # As a setting, and for stdin: an editor's buffer of an excluded file is left alone.
    (project / "pyproject.toml").write_text(
        '[tool.asyncfix]\nexclude = ["/app/gen/"]\nforce-exclude = true\n'
    )
    assert _paths(invoke(named)) == []
    buffer = invoke("--stdin-filename", named, "-", stdin=LEGACY)
    assert (buffer.exit_code, buffer.stdout) == (0, "")
    applied = CliRunner(mix_stderr=False).invoke(
        main, ["apply", "--stdin-filename", named, "-"], input=LEGACY
    )
    assert (applied.exit_code, applied.stdout) == (0, LEGACY)


def test_force_exclude_honours_the_default_excludes(project: Path) -> None:
    (project / "build").mkdir()
    (project / "build" / "x.py").write_text(LEGACY)
    assert _paths(invoke("build/x.py")) == ["build/x.py"]
    assert _paths(invoke("--force-exclude", "build/x.py")) == []


def test_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.asyncfix]\n[tool.asyncfix.per-file-ignores]\n"scripts/*" = ["AF203"]\n'
        '"models.py" = ["http_client"]\n'
    )
    assert _paths(invoke(".")) == ["app/main.py"]
    result = CliRunner(mix_stderr=False).invoke(main, ["apply", "--no-cache", "."])
    assert result.exit_code == 0, result.stderr
    assert (project / "scripts" / "job.py").read_text() == LEGACY
    assert (project / "app" / "gen" / "models.py").read_text() == LEGACY
    assert "asyncio.sleep" in (project / "app" / "main.py").read_text()


def test_per_file_ignores_hold_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AF601 would make util's def sync and drop the caller's await: ignored in the caller,
    # the plan must leave both, as a suppression comment there does.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "util.py").write_text(UTIL)
    (tmp_path / "pkg" / "caller.py").write_text(CALLER)
    converted = run([Path(".")], Config(select=("AF601",)), jobs=1)
    assert sorted(o.file.display for o in converted.outcomes if o.new) == [
        "pkg/caller.py",
        "pkg/util.py",
    ]
    config = Config(select=("AF601",), per_file_ignores={"caller.py": ("AF601",)})
    kept = run([Path(".")], config, jobs=1)
    assert not kept.errors
    assert [o.file.display for o in kept.outcomes if o.new] == []


def test_extend_select_and_strings_where_lists_belong(project: Path) -> None:
    config = project / "pyproject.toml"
    config.write_text('[tool.asyncfix]\nselect = ["AF1"]\n')
    assert _paths(invoke(".")) == []
    config.write_text('[tool.asyncfix]\nselect = ["AF1"]\nextend-select = ["AF203"]\n')
    assert len(_paths(invoke("."))) == 3
    for bad in (
        'select = "AF2"',
        'exclude = "gen"',
        '[tool.asyncfix.per-file-ignores]\n"x" = "AF2"',
    ):
        config.write_text(f"[tool.asyncfix]\n{bad}\n")
        result = invoke(".")
        assert result.exit_code == 2
        assert "must be a list of strings" in result.stderr
    config.write_text('[tool.asyncfix.per-file-ignores]\n"x" = ["AF999"]\n')
    result = invoke(".")
    assert result.exit_code == 2 and "AF999" in result.stderr
