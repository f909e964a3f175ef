"""Suppression comments as ruff and fixit users write them (asyncfix/suppressions.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asyncfix.cli import main
from asyncfix.config import Config, ConfigError, parse_table
from asyncfix.suppressions import parse_suppressions, suppressions_for

SOURCE = """\
import time


async def pauses():
    time.sleep(1)  # noqa
    time.sleep(2)  # noqa: AF203
    x = [  # asyncfix: ignore[AF999, htp_client]
        time.sleep(3),
    ]  # asyncfix: ignore[AF2, http_client]
    return x  # noqa: AF0, E501, W
"""


def test_lines_each_comment_covers() -> None:
    assert parse_suppressions(SOURCE) == {
        5: None,
        6: frozenset({"AF203"}),
        7: frozenset({"AF999", "htp_client", "AF2", "http_client"}),
        8: frozenset({"AF2", "http_client"}),
        9: frozenset({"AF2", "http_client"}),
        10: frozenset({"AF0", "E501"}),  # (`W` is no code: ruff ignores it too)
    }
    assert 5 not in parse_suppressions(SOURCE, bare_noqa=False)
    # In a string it is no comment.
    assert parse_suppressions('x = "# noqa"\n') == {}
    # ruff's code for the same problem silences asyncfix's too.
    assert parse_suppressions("t = f()  # noqa: RUF006, ASYNC251\n") == {
        1: frozenset({"RUF006", "ASYNC251", "AF502", "AF203"})
    }


def test_bare_noqa_can_be_left_to_other_linters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(SOURCE)
    runner = CliRunner(mix_stderr=False)
    honoured = runner.invoke(main, ["check", "--no-cache", "app.py"])
    assert honoured.stdout == ""
    (tmp_path / "pyproject.toml").write_text("[tool.asyncfix]\nignore-bare-noqa = true\n")
    ignored = runner.invoke(main, ["check", "--no-cache", "app.py"])
    assert ignored.stdout.startswith("app.py:5:5: AF203 ")
    assert len(ignored.stdout.splitlines()) == 1
    # Unknown codes are warned about, each where it is written; E501 is another linter's.
    warnings = [line for line in ignored.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "app.py:7:12: warning: 'AF999' in a suppression names no asyncfix rule",
        "app.py:7:12: warning: 'htp_client' in a suppression names no asyncfix rule",
        "app.py:10:15: warning: 'AF0' in a suppression names no asyncfix rule",
    ]


def test_ignore_bare_noqa_must_be_a_boolean() -> None:
    assert parse_table({"ignore-bare-noqa": True}, None).ignore_bare_noqa
    with pytest.raises(ConfigError, match="ignore-bare-noqa must be a boolean"):
        parse_table({"ignore-bare-noqa": "yes"}, None)


def test_suppressed_sites_of_the_run_join_the_files_comments() -> None:
    # `apply --min-share` leaves sites as `# asyncfix: ignore[CODE]` on their lines would.
    source = "import time\n\n\nasync def f():\n    time.sleep(1)  # noqa: AF201\n"
    config = Config(suppress=(("app.py", 5, "AF203"), ("app.py", 2, "AF103"), ("b.py", 5, "X")))
    assert suppressions_for(source, "app.py", config) == {
        5: frozenset({"AF201", "AF203"}),
        2: frozenset({"AF103"}),
    }
    assert suppressions_for(source, "other.py", config) == {5: frozenset({"AF201"})}
