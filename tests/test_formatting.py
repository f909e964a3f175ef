"""--format auto: the rewritten statements laid out by the project's own formatter, every
other byte kept, and the formatter's check still passing (testdata/formatting/ cases)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asyncfix.formatting import changed_lines, format_change, ruff_binary

CASES = Path(__file__).resolve().parent.parent / "testdata" / "formatting"
CHECKS = {
    "black_line_length_120": [sys.executable, "-m", "black", "--check", "-q", "."],
    "ruff_format_single_quotes": [str(ruff_binary()), "format", "--check", "-q", "."],
}


def _passes(command: list[str], project: Path) -> bool:
    return subprocess.run(command, cwd=project, capture_output=True, check=False).returncode == 0


@pytest.mark.parametrize("case", sorted(CHECKS))
def test_a_clean_project_stays_clean(case: str, tmp_path: Path) -> None:
    # The project's own check, with its configuration, before and after the rewrite.
    for side in ("input", "expected"):
        project = tmp_path / side
        shutil.copytree(CASES / case / side, project)
        assert _passes(CHECKS[case], project), f"{case}/{side} fails the project's check"


def test_only_rewritten_lines_move() -> None:
    # Every line of the input that asyncfix did not rewrite is in the output, in order.
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        original = (case / "input" / "app" / "views.py").read_text()
        new = (case / "expected" / "app" / "views.py").read_text()
        # (the rewritten lines, and the blank line the import sorter drops with `import json`)
        kept = [line for line in original.splitlines() if "json" not in line and line]
        assert [line for line in new.splitlines() if line in kept] == kept, case.name
        assert new.count("\n\n") >= original.count("\n\n") - 1, case.name


def test_changed_lines() -> None:
    assert changed_lines("a\nb\nc\n", "a\nB\nc\nd\n") == [(2, 2), (4, 4)]
    assert changed_lines("a\nb\nc\n", "a\nc\n") == []  # a removal leaves nothing to format


LONG_CALL = (
    "    await asyncio.sleep(first_delay_in_seconds + second_delay_in_seconds + 0.25 * 30 - 1.5)\n"
)


def test_no_formatter_wraps_only_long_rewritten_lines_and_keeps_quotes(tmp_path: Path) -> None:
    original = "import time\nx = { 'a':1 }\n\n"
    original += "async def f(first_delay_in_seconds, second_delay_in_seconds):\n"
    original += LONG_CALL.replace("await asyncio.sleep", "time.sleep")
    new = original.replace("import time", "import asyncio").replace(
        "    time.sleep", "    await asyncio.sleep"
    )
    out = format_change(original, new, "auto", None, tmp_path / "m.py")
    assert "x = { 'a':1 }\n" in out  # the project's own style
    assert "    await asyncio.sleep(\n        first_delay_in_seconds" in out
    # A short rewritten line is left as written, quotes and spacing included.
    short = "import time\ny = f( 'a' )\nasync def g():\n    time.sleep( 1 )\n"
    assert format_change(
        short, short.replace("time.sleep", "await asyncio.sleep"), "auto", None, tmp_path / "s.py"
    ) == short.replace("time.sleep", "await asyncio.sleep")


def test_a_tab_indented_file_is_not_reformatted(tmp_path: Path) -> None:
    original = "import time\n\n\nasync def f(first_delay_in_seconds, second_delay_in_seconds):\n"
    original += LONG_CALL.replace("    ", "\t", 1).replace("await asyncio.sleep", "time.sleep")
    new = original.replace("time.sleep", "await asyncio.sleep")
    assert format_change(original, new, "auto", None, tmp_path / "t.py") == new


def test_a_black_clean_file_stays_black_clean(tmp_path: Path) -> None:
    black = pytest.importorskip("black")
    # Removing the first import leaves one blank line before the function where black
    # wants two: the range alone cannot see it, the whole-file fallback does.
    original = 'import json\n\n\ndef f():\n    return json.dumps({"a": 1})\n'
    new = 'import orjson\n\ndef f():\n    return orjson.dumps({"a": 1})\n'
    out = format_change(original, new, "auto", None, tmp_path / "c.py")
    assert black.format_str(out, mode=black.Mode()) == out


def test_black_would_change_only_what_black_changes() -> None:
    black = pytest.importorskip("black")
    from asyncfix.formatting import _black_would_change, _format, _mode

    mode = _mode(black, None)
    sources = [p.read_text() for p in sorted(CASES.parent.rglob("*.py"))[:200]]
    sources += ["x = 'a'\n", "x = b''\n", "def f():\n    'doc'\n", "x = u'a'\n", "x = r'a'\n"]
    said = 0
    for source in sources:
        if _black_would_change(source):
            said += 1
            with contextlib.suppress(black.InvalidInput):
                assert _format(black, source, mode, fast=True) != source
    assert said >= 5
    # Never said of what black leaves: double quotes, f-strings, quotes or backslashes
    # inside, a region black does not touch.
    for source in [
        'x = "a"\n',
        "x = f'{a}'\n",
        "x = 'a\"b'\n",
        "x = 'a\\nb'\n",
        "x = '''a'''\n",
        "# fmt: off\nx = 'a'\n# fmt: on\n",
        "x = 'a'  # fmt: skip\n",
        "x = 'a'  # yapf: disable\n",
        "x = (\n",
    ]:
        assert not _black_would_change(source), source


@pytest.mark.parametrize(
    "original",
    [
        "import time\ny = f( 'a' )\nasync def g():\n    time.sleep( 1 )\n",
        "import time\nx = {'a': 1}\n\n\n"
        + "async def f(first_delay_in_seconds, second_delay_in_seconds):\n"
        + LONG_CALL.replace("await asyncio.sleep", "time.sleep"),
        'import time\n\n\nasync def g():\n    time.sleep(1)\n    return "a"\n',
    ],
)
def test_no_formatter_without_black_s_whole_run_is_the_same(
    original: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (a project with no formatter configured: the answer without black's run over the
    # whole file is the one black's run gave)
    from asyncfix import formatting

    monkeypatch.chdir(tmp_path)
    new = original.replace("import time", "import asyncio").replace(
        "time.sleep", "await asyncio.sleep"
    )
    out = format_change(original, new, "auto", None, tmp_path / "m.py")
    monkeypatch.setattr(formatting, "_black_would_change", lambda text: False)
    assert format_change(original, new, "auto", None, tmp_path / "m.py") == out
