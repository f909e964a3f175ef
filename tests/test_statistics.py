"""`check --statistics`: counts per rule, as ruff prints them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asyncfix.cli import main

SOURCE = (
    "import time\n\nimport requests\n\n\nasync def handler():\n    time.sleep(1)\n"
    "    time.sleep(2)\n    return requests.get('https://example.com')\n"
)


def test_counts_per_rule_most_frequent_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "b.py").write_text(SOURCE.replace("    time.sleep(2)\n", ""))
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(main, ["check", "--no-cache", "--statistics", "."])
    assert result.exit_code == 1
    assert result.stdout == ("3\tAF203\t[*] time-sleep-in-async\n2\tAF201\t[ ] requests-in-async\n")
    clean = runner.invoke(main, ["check", "--no-cache", "--statistics", "--select", "AF1", "."])
    assert (clean.exit_code, clean.stdout) == (0, "")
    other = runner.invoke(main, ["check", "--statistics", "--output-format", "json", "."])
    assert other.exit_code == 2
