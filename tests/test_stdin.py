"""`check`/`apply --stdin-filename PATH -`: the source from stdin, PATH for the
configuration and the messages, the fixed source on stdout (what editors call)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncfix.cli import main

LEGACY = b"import time\r\n\r\n\r\nasync def handler():\r\n    time.sleep(1)\r\n    return 1\r\n"
FIXED = (
    b"import asyncio\r\n\r\n\r\nasync def handler():\r\n    await asyncio.sleep(1)\r\n"
    b"    return 1\r\n"
)


def invoke(stdin: bytes, *args: str) -> Result:
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(main, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose own configuration ignores AF203 under app/; run from elsewhere."""
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.asyncfix]\nselect = ["AF2"]\n')
    (root / "app" / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF203"]\n')
    monkeypatch.chdir(tmp_path)
    return root


def test_apply_stdin_prints_what_apply_writes(project: Path) -> None:
    result = invoke(LEGACY, "apply", "--stdin-filename", "proj/main.py", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == FIXED  # CRLF kept
    (project / "main.py").write_bytes(LEGACY)
    assert invoke(b"", "apply", "proj/main.py").exit_code == 0
    assert (project / "main.py").read_bytes() == result.stdout_bytes
    again = invoke(FIXED, "apply", "--stdin-filename", "proj/main.py", "-")
    assert (again.exit_code, again.stdout_bytes) == (0, FIXED)


def test_check_stdin_uses_the_files_own_configuration(project: Path) -> None:
    found = invoke(LEGACY, "check", "--stdin-filename", "proj/main.py", "-")
    assert found.exit_code == 1
    assert found.stdout.startswith("proj/main.py:5:5: AF203 ")
    # Nothing exists at proj/app/new.py: its directory's pyproject.toml still applies.
    ignored = invoke(LEGACY, "check", "--stdin-filename", "proj/app/new.py", "-")
    assert (ignored.exit_code, ignored.stdout) == (0, "")
    kept = invoke(LEGACY, "apply", "--stdin-filename", "proj/app/new.py", "-")
    assert kept.stdout_bytes == LEGACY


def test_apply_stdin_diff_and_errors(project: Path) -> None:
    diff = invoke(LEGACY, "apply", "--diff", "--stdin-filename", "proj/main.py", "-")
    assert diff.exit_code == 1
    assert diff.stdout.startswith("--- a/proj/main.py\n+++ b/proj/main.py\n")
    broken = b"import time\nasync def f(:\n    time.sleep(1)\n"
    failed = invoke(broken, "apply", "--stdin-filename", "proj/main.py", "-")
    # The buffer comes back as it was: an editor replacing it with stdout loses nothing.
    assert (failed.exit_code, failed.stdout_bytes) == (2, broken)
    assert "proj/main.py:2:" in failed.stderr


def test_stdin_usage_errors(project: Path) -> None:
    assert invoke(LEGACY, "check", "--stdin-filename", "x.py", "proj").exit_code == 2
    assert invoke(LEGACY, "check", "-", "proj").exit_code == 2
    assert invoke(LEGACY, "apply", "--annotate", "-").exit_code == 2


def test_stdin_through_real_pipes(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asyncfix", "apply", "-q", "--stdin-filename", "proj/m.py", "-"],
        input=LEGACY,
        capture_output=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, FIXED), done.stderr


def test_stdin_is_planned_in_its_project_as_apply_file_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A coroutine function another module defines, called without await; and one another
    # module awaits, which converting alone would break (closed-world: no outside callers).
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.asyncfix.async_def]\nclosed-world = true\n")
    (root / "pkg" / "__init__.py").write_text("")
    lib = b"async def helper():\n    return 1\n\n\nasync def fetch(x):\n    return x\n"
    app = b"from pkg.lib import fetch, helper\n\n\nasync def f():\n    fetch(1)\n"
    app += b"    return await helper()\n"
    (root / "pkg" / "lib.py").write_bytes(lib)
    (root / "pkg" / "app.py").write_bytes(app)
    monkeypatch.chdir(root)
    checked = invoke(app, "check", "--stdin-filename", "pkg/app.py", "-")
    assert checked.output.startswith("pkg/app.py:5:5: AF501 `fetch()`")
    fixed = invoke(lib, "apply", "--stdin-filename", "pkg/lib.py", "-")
    assert fixed.stdout_bytes == lib  # not converted: pkg/app.py awaits them
    assert "pkg/app.py awaits it and is not among the files given" in fixed.stderr
    # The same as `asyncfix apply pkg/lib.py`, and SARIF offers no fix of lib.py alone.
    invoke(b"", "apply", "--no-cache", "pkg/lib.py")
    assert (root / "pkg" / "lib.py").read_bytes() == lib
    sarif = json.loads(invoke(b"", "check", "--no-cache", "--output-format", "sarif", ".").output)
    results = sarif["runs"][0]["results"]
    assert [(r["ruleId"], r["properties"]["fixable"]) for r in results] == [("AF601", True)] * 2
    assert not any("fixes" in r for r in results)
