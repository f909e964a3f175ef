"""`check`/`apply --stdin-filename PATH -`: the source from stdin, PATH for the
configuration and the messages, the fixed source on stdout (what editors call)."""

from __future__ import annotations

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
