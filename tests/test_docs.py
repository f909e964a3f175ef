"""The documentation: the rule reference is generated from the rules, the README stays a
short guide, and every relative link leads to a file."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
# A clock time ("09:22") says when someone happened to run something: not a user's concern.
CLOCK = re.compile(r"(?<![\d:.])(?:[01]\d|2[0-3]):[0-5]\d(?![\d:])")
LINK = re.compile(r"\]\((?!https?://|#)([^)#\s]+)(?:#[^)]*)?\)")


def _document_rules() -> ModuleType:
    path = ROOT / "scripts" / "document_rules.py"
    spec = importlib.util.spec_from_file_location("document_rules", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rule_reference_is_the_rules() -> None:
    script = _document_rules()
    assert script.OUT.read_text(encoding="utf-8") == script.render(), (
        f"docs/rules.md is stale (a Rule changed); regenerate it with {script.COMMAND}"
    )


def test_the_rule_reference_holds_every_rule() -> None:
    from asyncfix.codemods import every_rule

    text = _document_rules().render()
    assert "\n### AF701\n" in text and "\n### AF702\n" in text  # (from --profile)
    for code, (_, rule) in every_rule().items():
        assert f"\n### {code}\n" in text and rule.why in text and rule.before.rstrip() in text


def test_the_readme_is_a_short_guide() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    # .ci/run runs the first ```sh block: line 1 installs and tries asyncfix, line 2 tests.
    block = text.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert "pip install" in block[0] and "asyncfix apply" in block[0]
    assert "pytest" in block[1]


def test_the_readmes_rule_table_has_every_rule() -> None:
    from asyncfix.codemods import all_rules

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (AF\d{3}) \| (\w+) +\|", text, re.MULTILINE)
    assert rows == sorted((code, c.FAMILY) for code, (c, _) in all_rules().items())


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_clock_times_or_session_diaries(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not CLOCK.findall(text), CLOCK.findall(text)
    assert "this session" not in text.lower()


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_lead_to_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    missing = [link for link in LINK.findall(text) if not (path.parent / link).exists()]
    assert not missing, missing


def test_the_clock_pattern_finds_clock_times() -> None:
    assert CLOCK.findall("measured at 09:22, and 23:38") == ["09:22", "23:38"]
    assert not CLOCK.findall("AF203, 1:2:3, 0.84x, 2026-11-26, line 12:40:1")
