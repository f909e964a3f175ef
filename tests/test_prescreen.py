"""Prescreens (AsyncfixCodemod.prescreen) only save work: they never change a result.

Each codemod runs alone on every golden input and output, every rule example and every
multi-file case, once with prescreens and once without; the rewrites and the findings
must be the same. A prescreen that wrongly says False shows up here as a lost fix or a
lost finding.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_golden import TESTDATA, project_copy, single_cases, tree_cases

from asyncfix import syntax
from asyncfix.codemods import AsyncfixCodemod, all_codemods
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceError, SourceFile
from asyncfix.planning import make_plans

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
    project_copy(case, tmp_path, monkeypatch)
    screened = run([Path(".")], ALL, jobs=1)
    monkeypatch.setattr(Pipeline, "prescreen", lambda *args: None)
    unscreened = run([Path(".")], ALL, jobs=1)
    assert [(o.file.display, o.new, o.findings) for o in screened.outcomes] == [
        (o.file.display, o.new, o.findings) for o in unscreened.outcomes
    ]


def _noted_against_prescreens(
    pipeline: Pipeline, name: str, data: bytes, plans: dict[str, object] | None
) -> list[str]:
    """The codemods whose answer from the file's note differs from its prescreen's."""
    tree = syntax.parse(data)
    note = pipeline.screen_note(name, data, tree)
    view = SourceView(name, data, tree, pipeline.config, pipeline.enabled, plans or {})
    if note is None:  # (only where some prescreen passes with no plan)
        alone = SourceView(name, data, tree, pipeline.config, pipeline.enabled, {})
        asked = [c for c in pipeline.for_path(name) if c.may_match(data)]
        return [] if any(c.prescreen(alone) for c in asked) else [f"{name}: no note"]
    noted = pipeline.noted(name, data, note, plans)
    # Where the note cannot answer, the prescreen may read its parts instead of the tree's.
    with_parts = replace(view, noted=note.parts)
    return [
        f"{name}: {codemod.NAME}"
        for codemod, answer in noted.items()
        if (answer is not None and answer != codemod.prescreen(view))
        or codemod.prescreen(with_parts) != codemod.prescreen(view)
    ]


def test_notes_answer_as_the_prescreens_on_every_source() -> None:
    # What the worker that indexed a file notes (Pipeline.screen_note) stands for the
    # prescreens in the worker that rewrites it: each answer it gives is theirs.
    pipeline = _pipeline(None, True)
    differ = []
    for name, data in SOURCES:
        try:
            syntax.parse(data)
        except (SyntaxError, ValueError):
            continue
        differ += _noted_against_prescreens(pipeline, name, data, None)
    assert not differ


@pytest.mark.parametrize("case", tree_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notes_answer_as_the_prescreens_with_the_plans(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_copy(case, tmp_path, monkeypatch)
    pipeline = _pipeline(None, True)
    files = [SourceFile(p, str(p)) for p in sorted(Path(".").rglob("*.py"))]
    contents: dict[str, bytes | SourceError] = {f.display: f.path.read_bytes() for f in files}
    plans = make_plans(pipeline, files, contents)
    differ = []
    for file in files:
        data = contents[file.display]
        assert isinstance(data, bytes)
        try:
            syntax.parse(data)
        except (SyntaxError, ValueError):
            continue
        differ += _noted_against_prescreens(pipeline, file.display, data, plans.get(file.display))
    assert not differ
