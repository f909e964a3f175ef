"""Prescreens (AsyncfixCodemod.prescreen) only save work: they never change a result.

Each codemod runs alone on every golden input and output, every rule example and every
multi-file case, once with prescreens and once without; the rewrites and the findings
must be the same. A prescreen that wrongly says False shows up here as a lost fix or a
lost finding.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_golden import TESTDATA, single_cases, tree_cases

from asyncfix.codemods import AsyncfixCodemod, all_codemods
from asyncfix.config import Config
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile

CODEMODS = all_codemods()
ALL = Config()  # every rule


def sources() -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for case in single_cases():
        stem = case.name.removesuffix(".input.py")
        found.append((f"{case.parent.name}/{case.name}", case.read_bytes()))
        expected = case.with_name(f"{stem}.expected.py")
        if expected.exists():
            found.append((f"{case.parent.name}/{expected.name}", expected.read_bytes()))
    for codemod in CODEMODS:
        for rule in codemod.RULES:
            for i, text in enumerate((rule.before, rule.after, *rule.valid)):
                found.append((f"{rule.code}-example-{i}", text.encode()))
    return found


SOURCES = sources()


def _results(pipeline: Pipeline, name: str, data: bytes) -> tuple[object, ...]:
    outcome = pipeline.process(SourceFile(TESTDATA / name, name), data)
    return outcome.new, outcome.findings, outcome.errors


def _pipeline(codemod: type[AsyncfixCodemod] | None, screens: bool) -> Pipeline:
    pipeline = Pipeline(ALL, None if codemod is None else [codemod])
    pipeline.use_prescreens = screens
    return pipeline


@pytest.mark.parametrize("codemod", [None, *CODEMODS], ids=lambda c: "all" if c is None else c.NAME)
def test_prescreens_change_no_result(codemod: type[AsyncfixCodemod] | None) -> None:
    screened, unscreened = _pipeline(codemod, True), _pipeline(codemod, False)
    differ = [
        name
        for name, data in SOURCES
        if _results(screened, name, data) != _results(unscreened, name, data)
    ]
    assert not differ, f"prescreen skipped work that matters in: {differ}"


def test_prescreens_skip_files_without_sites() -> None:
    # The screens must also work: a plain async module is never parsed by libcst.
    data = b"import json\n\n\nasync def handler(x):\n    await x.wait()\n    return len(x)\n"
    outcome = _pipeline(None, True).process(SourceFile(Path("plain.py"), "plain.py"), data)
    assert not outcome.parsed and outcome.new is None and not outcome.findings


@pytest.mark.parametrize("case", tree_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_prescreens_change_no_project_result(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "project"
    shutil.copytree(case / "input", work)
    monkeypatch.chdir(work)
    screened = run([Path(".")], ALL, jobs=1)
    monkeypatch.setattr(Pipeline, "prescreen", lambda *args: None)
    unscreened = run([Path(".")], ALL, jobs=1)
    assert [(o.file.display, o.new, o.findings) for o in screened.outcomes] == [
        (o.file.display, o.new, o.findings) for o in unscreened.outcomes
    ]
