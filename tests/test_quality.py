"""ruff and mypy stay clean: part of the test command so CI enforces it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "ruff", "check", "--quiet", "."],
        [sys.executable, "-m", "ruff", "format", "--check", "--quiet", "asyncfix", "tests"],
        [sys.executable, "-m", "mypy"],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_tool_is_clean(command: list[str]) -> None:
    if shutil.which(command[2]) is None and not _importable(command[2]):
        pytest.fail(f"{command[2]} is not installed; it is part of the [test] extra")
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"]).returncode == 0
