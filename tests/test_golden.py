"""Golden before/after cases under testdata/, discovered automatically.

Single-file case: testdata/<family>/<case>.input.py, <case>.expected.py, <case>.findings
(the expected findings, one `line:col: CODE message [...]` per line) and optionally
<case>.toml (a [tool.asyncfix] table). Multi-file case: testdata/<family>/<case>/input/,
<case>/expected/ and <case>/findings (paths relative to input/); its configuration is
input/pyproject.toml, as in a real project.

Every case also checks that the output compiles and that a second run changes nothing.
Set ASYNCFIX_UPDATE_GOLDEN=1 to (re)write expected files; then review them like code.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import isort
import pytest

from asyncfix.codemods import families
from asyncfix.config import Config, load_config, parse_table
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile
from asyncfix.formatting import format_change
from asyncfix.project import import_sorter
from asyncfix.review import rewrites

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
UPDATE = os.environ.get("ASYNCFIX_UPDATE_GOLDEN") == "1"
# Directories under testdata/ that hold example projects rather than golden cases.
NOT_CASES = {"legacy_app"}


def _family_config(family: str, config: Config) -> Config:
    # A case under a family's directory runs that family alone unless it selects itself.
    if family in families() and config.select == ("AF",):
        return config.with_overrides(select=[family])
    return config


def single_cases() -> list[Path]:
    return sorted(p for p in TESTDATA.glob("*/*.input.py") if p.parent.name not in NOT_CASES)


def tree_cases() -> list[Path]:
    return sorted(
        p.parent for p in TESTDATA.glob("*/*/input") if p.parent.parent.name not in NOT_CASES
    )


def project_copy(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of a multi-file case's input project, the working directory from now on."""
    work = tmp_path / "project"
    shutil.copytree(case / "input", work)
    monkeypatch.chdir(work)
    return work


def _check_or_update(path: Path, actual: bytes) -> None:
    if UPDATE:
        path.write_bytes(actual)
        return
    assert path.exists(), f"missing {path.name}; run with ASYNCFIX_UPDATE_GOLDEN=1 and review"
    assert actual.decode("utf-8", "replace") == path.read_bytes().decode("utf-8", "replace")
    assert actual == path.read_bytes()


def _compiles(code: bytes, name: str) -> None:
    compile(code, name, "exec", dont_inherit=True)


@pytest.mark.parametrize(
    "case", single_cases(), ids=lambda p: f"{p.parent.name}/{p.name.removesuffix('.input.py')}"
)
def test_single_file_case(case: Path) -> None:
    stem = case.name.removesuffix(".input.py")
    toml = case.with_name(f"{stem}.toml")
    config = (
        parse_table(tomllib.loads(toml.read_text()).get("tool", {}).get("asyncfix", {}), toml)
        if toml.exists()
        else Config()
    )
    pipeline = Pipeline(_family_config(case.parent.name, config))
    source = case.read_bytes()
    outcome = pipeline.process(SourceFile(case, case.name), source)
    assert not outcome.errors, outcome.errors
    output = outcome.new if outcome.new is not None else source
    if outcome.new is not None:
        # What `apply` writes: formatted as --format auto does for a file of no project.
        text = format_change(
            source.decode(outcome.encoding), output.decode(outcome.encoding), "auto", None, case
        )
        output = text.encode(outcome.encoding)
    findings = "".join(f.format().removeprefix(f"{case.name}:") + "\n" for f in outcome.findings)
    _check_or_update(case.with_name(f"{stem}.findings"), findings.encode())
    _check_or_update(case.with_name(f"{stem}.expected.py"), output)
    _compiles(output, case.name)
    # Idempotence: the expected output is a fixed point of the pipeline.
    again = pipeline.process(SourceFile(case, case.name), output)
    assert again.new is None, "a second run changed the output"
    assert not again.errors


@pytest.mark.parametrize("case", tree_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_multi_file_case(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = project_copy(case, tmp_path, monkeypatch)
    pyproject = work / "pyproject.toml"
    config = _family_config(
        case.parent.name, load_config(pyproject if pyproject.exists() else None)
    )
    result = run([Path(".")], config, jobs=1)
    assert not result.errors, result.errors
    # What `apply` writes: the rewrite, formatted as the project formats (--format auto).
    for change in rewrites(result.outcomes, "auto", config.source, annotated=False, jobs=1):
        change.path.write_bytes(change.new)
    findings = "".join(f.format() + "\n" for f in result.findings)
    _check_or_update(case / "findings", findings.encode())
    expected = case / "expected"
    if UPDATE:
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(work, expected)
    actual_files = sorted(p.relative_to(work) for p in work.rglob("*") if p.is_file())
    expected_files = sorted(p.relative_to(expected) for p in expected.rglob("*") if p.is_file())
    assert actual_files == expected_files
    for rel in actual_files:
        assert (work / rel).read_bytes() == (expected / rel).read_bytes(), rel
        if rel.suffix == ".py":
            _compiles((work / rel).read_bytes(), str(rel))
    again = run([Path(".")], config, jobs=1)
    assert not [o for o in again.outcomes if o.new is not None], "a second run changed files"


def test_there_are_golden_cases() -> None:
    # An empty parametrization would pass silently; the harness must have work to do.
    assert single_cases()


def _comments(code: bytes) -> set[str]:
    return {
        token.string
        for token in tokenize.tokenize(io.BytesIO(code).readline)
        if token.type == tokenize.COMMENT
    }


def _expected_outputs() -> list[tuple[Path, Path]]:
    """(input, expected) for every Python file of every golden case."""
    pairs = [
        (case, case.with_name(case.name.replace(".input.", ".expected.")))
        for case in single_cases()
    ]
    for case in tree_cases():
        for expected in (case / "expected").rglob("*.py"):
            pairs.append((case / "input" / expected.relative_to(case / "expected"), expected))
    return pairs


def test_no_generated_comment_names_the_tool_or_a_rule() -> None:
    # A comment the rewrite adds stays in the project's source: it explains the code, and
    # names neither asyncfix nor a rule code (`apply --annotate` exists for that).
    offending = []
    for source, expected in _expected_outputs():
        before = _comments(source.read_bytes()) if source.exists() else set()
        for comment in _comments(expected.read_bytes()) - before:
            if re.search(r"asyncfix|\bAF\d+", comment, re.IGNORECASE):
                offending.append(f"{expected.relative_to(TESTDATA)}: {comment}")
    assert not offending


_RUFF_CHECK_IMPORTS = [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "I"]
_RUFF_CHECK_IMPORTS += ["--output-format", "json", "--exit-zero"]


def _unsorted_files(project: Path) -> set[str]:
    """The project's .py files (relative paths) its own import check rejects, run with its
    configuration: `ruff check --select I` for a ruff project, isort's check for the rest
    (an unconfigured project is held to isort's defaults)."""
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*.py"))
    sorter = import_sorter(project)
    if sorter.tool == "ruff":
        done = subprocess.run(
            [*_RUFF_CHECK_IMPORTS, *files],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
        return {str(Path(d["filename"]).relative_to(project)) for d in json.loads(done.stdout)}
    settings = isort.Config(settings_path=str(project)) if sorter.tool else isort.Config()
    return {f for f in files if not isort.check_file(project / f, config=settings, show_diff=False)}


@pytest.mark.parametrize("case", tree_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_import_check_still_passes(case: Path, tmp_path: Path) -> None:
    # Every file the project's import sorter accepted before the rewrite it accepts after
    # (the expected tree is the rewrite's output); compared in a copy, outside this repo's
    # own configuration.
    before, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(case / "input", before)
    shutil.copytree(case / "expected", after)
    passed_before = {str(p.relative_to(before)) for p in before.rglob("*.py")} - _unsorted_files(
        before
    )
    assert not passed_before & _unsorted_files(after)
