"""bench/corpus.py's review harness: the project's own import and formatter checks on
each changed file, before and after, and the hunks per rule."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import asyncfix.formatting

# bench/ is no package: its script by path, as tests/test_profiles.py loads its sibling.
BENCH = str(Path(__file__).resolve().parent.parent / "bench")
sys.path.insert(0, BENCH)
try:
    corpus = importlib.import_module("corpus")
finally:
    sys.path.remove(BENCH)

VIEWS = """import json

from starlette.responses import Response


async def export(rows, n):
    return Response(json.dumps({"rows": rows, "n": n}), media_type="application/json")
"""
PYPROJECT = """[project]
name = "exports"
dependencies = ["starlette", "orjson>=3.9"]

[tool.black]
line-length = 100

[tool.ruff.lint]
select = ["I"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "views.py").write_text(VIEWS)
    (root / "app" / "messy.py").write_text("import json\nimport os\nx=json.loads('1')\n")
    for cached in (asyncfix.formatting.black_table, asyncfix.formatting.configured_formatter):
        cached.cache_clear()
    return root


def test_checks_before_and_after_each_changed_file(project: Path) -> None:
    report = corpus.check_project(project, ("AF",), 1, None, 60)
    assert (report.import_check, report.format_check) == ("ruff I", "black")
    checks = {c.file: c for c in report.checks}
    assert sorted(checks) == ["app/views.py"]  # messy.py: json.loads at import time, kept
    views = checks["app/views.py"]
    assert (views.imports_before, views.imports_after) == ("pass", "pass")
    assert (views.format_before, views.format_after) == ("pass", "pass")
    assert report.regressions == [] and not report.bad
    assert report.hunks == {"AF101": 1}  # one hunk: the import is within its context lines
    assert (project / "app" / "views.py").read_text() == VIEWS  # the project is untouched


def test_a_check_that_passed_and_fails_after_is_a_regression(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written as the codemods emit it, unformatted: the 100-column limit is crossed.
    monkeypatch.setattr(asyncfix.formatting, "_black", lambda: None)
    report = corpus.check_project(project, ("AF",), 1, None, 60)
    views = next(c for c in report.checks if c.file == "app/views.py")
    assert (views.format_before, views.format_after) == ("pass", "fail")
    assert report.regressions == ["app/views.py: format"] and report.bad
    assert "| exports | app/views.py | ruff I | pass -> pass | black | pass -> fail |" in (
        corpus.checks_table([report])
    )
