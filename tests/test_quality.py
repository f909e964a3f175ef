"""ruff and mypy stay clean: part of the test command so CI enforces it."""

from __future__ import annotations

import ast
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


def test_no_module_imports_another_modules_private_names() -> None:
    # A private name is free to change with its module; a helper two modules share is public.
    offenders = []
    for path in sorted((ROOT / "asyncfix").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("asyncfix"):
                names = [a.name for a in node.names]
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    offenders.append(f"{path.relative_to(ROOT)}: {node.module} {private}")
    assert not offenders, "\n".join(offenders)
