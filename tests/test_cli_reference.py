"""docs/cli.md's command reference is `asyncfix --help`, generated; they cannot disagree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from asyncfix.cli import REFERENCE_END, REFERENCE_START, reference

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_the_command_reference_is_the_help() -> None:
    text = REFERENCE.read_text()
    start = text.index(REFERENCE_START)
    end = text.index(REFERENCE_END) + len(REFERENCE_END)
    if os.environ.get("ASYNCFIX_UPDATE_DOCS"):
        REFERENCE.write_text(text[:start] + reference() + text[end:])
        text = REFERENCE.read_text()
        end = start + len(reference())
    assert text[start:end] == reference(), (
        "docs/cli.md's command reference differs from --help; regenerate it with "
        "ASYNCFIX_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_cli_reference.py"
    )


def test_reference_is_what_the_real_command_prints() -> None:
    # The generated text is the --help a user sees on a terminal of 80 columns or more.
    env = dict(os.environ, COLUMNS="200")
    shown = subprocess.run(
        [sys.executable, "-m", "asyncfix", "apply", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert shown.replace("python -m asyncfix", "asyncfix") in reference()
    for option in ("--interactive", "--patch FILE", "--split-by", "--format", "--add-deps"):
        assert option in shown
