"""The registry's manifest (asyncfix/codemods/manifest.py) says what the classes say, and a
run it settles without the codemods (asyncfix/quiet.py) gives the full registry's result."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_golden import TESTDATA, project_copy, single_cases, tree_cases

import asyncfix.codemods
import asyncfix.driver
import asyncfix.planning
from asyncfix.codemods import (
    all_codemods,
    every_rule,
    families,
    known_selector,
    resolve_selection,
)
from asyncfix.codemods import catalog_build as build
from asyncfix.codemods.catalog import Entry, entries
from asyncfix.config import Config
from asyncfix.driver import run
from asyncfix.files import SourceFile, discover
from asyncfix.pipeline import Pipeline
from asyncfix.planning import plan_each

CODEMODS = all_codemods()


def test_the_manifest_is_fresh() -> None:
    assert build.OUT.read_text(encoding="utf-8") == build.render(), (
        f"asyncfix/codemods/manifest.py is stale (a codemod changed); regenerate it with "
        f"{build.COMMAND}"
    )


def test_the_manifest_lists_the_registry_in_order() -> None:
    assert [(e.name, e.family, e.codes) for e in entries()] == [
        (c.NAME, c.FAMILY, c.codes()) for c in CODEMODS
    ]


def test_the_byte_rules_are_the_classes() -> None:
    sources = [p.read_bytes() for p in TESTDATA.rglob("*.py")]
    sources += [rule.before.encode() for c in CODEMODS for rule in c.RULES]
    for codemod, entry in zip(CODEMODS, entries(), strict=True):
        differ = [d[:60] for d in sources if entry.may_match(d) != codemod.may_match(d)]
        assert not differ, f"{codemod.NAME}: the manifest's byte rule differs on {differ}"


def test_an_overridden_may_match_without_a_byte_rule_is_refused() -> None:
    serializer = next(c for c in CODEMODS if c.NAME == "serializer")

    class Own(serializer):  # type: ignore[valid-type, misc]
        @classmethod
        def may_match(cls, data: bytes) -> bool:  # (JSON alone no longer does)
            return super().may_match(data) and (b"json" in data or b"pandas" in data)

    with pytest.raises(build.ManifestError, match="not its byte rule"):
        build.entry_of(Own)
    Own.TRIGGERS_ANY = ()
    with pytest.raises(build.ManifestError, match="say its byte rule as data"):
        build.entry_of(Own)


SELECTORS = sorted(
    {"AF", "AF1", "AF2", "AF7", "AF70", "AF999", "nope", "profile", *families()}
    | {c.NAME for c in CODEMODS}
    | set(every_rule())
)


def test_selection_from_the_manifest_is_the_registrys(monkeypatch: pytest.MonkeyPatch) -> None:
    def answers() -> list[object]:
        found: list[object] = [families.__wrapped__()]  # (not its cached answer)
        for selector in SELECTORS:
            found.append(known_selector(selector))
            if known_selector(selector):
                found.append(resolve_selection([selector], []))
                found.append(resolve_selection(["AF"], [selector]))
        return found

    assert asyncfix.codemods.manifest_is_registry()
    from_manifest = answers()
    # The same registry, but not the manifest's object: the classes are asked.
    monkeypatch.setattr(asyncfix.codemods, "all_codemods", lambda: CODEMODS)
    assert not asyncfix.codemods.manifest_is_registry()
    assert answers() == from_manifest


def _holds(data: bytes, tokens: tuple[bytes, ...]) -> bool:
    return any(token in data for token in tokens)


def _projects() -> list[list[Path]]:
    """The golden projects (multi-file cases) and each single case as a project alone."""
    projects = [sorted(p for p in (case / "input").rglob("*.py")) for case in tree_cases()]
    return projects + [[case] for case in single_cases()]


@pytest.mark.parametrize("entry", [e for e in entries() if e.plans], ids=lambda e: e.name)
def test_each_plan_gate_holds_on_the_golden_projects(entry: Entry) -> None:
    # A plan names a file only in a project where some file holds a token of its gate.
    assert entry.plan_gate is not None
    planner = next(c for c in CODEMODS if entry.name == c.NAME)
    pipeline = Pipeline(Config())
    gated = []
    for paths in _projects():
        files = [SourceFile(p, str(p.relative_to(TESTDATA))) for p in paths]
        plan = plan_each(pipeline, [planner], files).get(entry.name)
        if plan and not any(_holds(p.read_bytes(), entry.plan_gate) for p in paths):
            gated.append(files[0].display)
    assert not gated, f"{entry.name} planned in projects holding none of its gate: {gated}"


@pytest.mark.parametrize("entry", [e for e in entries() if e.plans], ids=lambda e: e.name)
def test_each_plan_reach_holds_on_the_golden_projects(entry: Entry) -> None:
    # Given the files holding none of its reach (and only those), a plan names none of them.
    if entry.plan_reach is None:
        pytest.skip("no reach: always planned")
    planner = next(c for c in CODEMODS if entry.name == c.NAME)
    pipeline = Pipeline(Config())
    reached = []
    for paths in _projects():
        files = [SourceFile(p, str(p.relative_to(TESTDATA))) for p in paths]
        given = {f.display for f in files if not _holds(f.path.read_bytes(), entry.plan_reach)}
        plan = plan_each(pipeline, [planner], files, given=given).get(entry.name) or {}
        reached += sorted(given.intersection(plan))
    assert not reached, f"{entry.name} planned given files holding none of its reach: {reached}"


def _outcomes(paths: list[Path], config: Config) -> list[object]:
    result = run(paths, config, jobs=1)
    rows: list[object] = [
        (o.file.display, o.new, o.findings, o.errors, o.parsed) for o in result.outcomes
    ]
    return [*rows, result.errors]


# Files a pre-commit hook may name: nothing to find, a finding, test code, bad input.
NAMED = {
    "plain.py": "import os\n\n\ndef main() -> str:\n    return os.getcwd()\n",
    "sleeps.py": "import time\n\n\nasync def handler() -> None:\n    time.sleep(1)\n",
    "tests/test_sleeps.py": "import time\n\n\nasync def test_it() -> None:\n    time.sleep(1)\n",
    "broken.py": "def f(:\n    pass\n",
    "binary.py": "x = 1\0\n",
    "notes.txt": "not python\n",
    "cookie.py": "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n",
    "deep.py": "x = " + "(" * 250 + ")" * 250 + "\n",
}


@pytest.mark.parametrize("name", sorted(NAMED))
@pytest.mark.parametrize("neighbour", ["", "async def other():\n    pass\n"])
def test_a_run_without_codemods_is_the_full_runs(
    name: str, neighbour: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (tmp_path / "tests").mkdir()
    for other, text in NAMED.items():
        encoding = "latin-1" if other == "cookie.py" else "utf-8"
        (tmp_path / other).write_bytes(text.encode(encoding))
    if neighbour:
        (tmp_path / "other.py").write_text(neighbour)
    monkeypatch.chdir(tmp_path)
    config = Config()
    quiet = _outcomes([Path(name)], config)
    monkeypatch.setattr(asyncfix.driver, "_codemod_free", lambda *args: False)
    assert quiet == _outcomes([Path(name)], config)


@pytest.mark.parametrize("case", tree_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_file_of_a_golden_project_alone_is_the_full_runs(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_copy(case, tmp_path, monkeypatch)
    files, _ = discover([Path(".")])
    config = Config()
    quiet = [_outcomes([f.path], config) for f in files]
    # (and every plan made, even those that cannot name the file: see planning.reaching)
    monkeypatch.setattr(asyncfix.driver, "_codemod_free", lambda *args: False)
    monkeypatch.setattr(asyncfix.planning, "reaching", lambda planners, *_: list(planners))
    assert quiet == [_outcomes([f.path], config) for f in files]


def _imports_libcst(project: Path, source: str) -> bool:
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (project / "mod.py").write_text(source)
    probe = textwrap.dedent(
        """\
        import sys
        from asyncfix.cli import main
        try:
            main(["check", "--no-cache", "mod.py"])
        except SystemExit:
            pass
        print(any(m == "libcst" or m.startswith("libcst.") for m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1] == "True"


def test_a_file_no_rule_looks_at_never_imports_libcst(tmp_path: Path) -> None:
    assert not _imports_libcst(tmp_path, NAMED["plain.py"])
    assert _imports_libcst(tmp_path, NAMED["sleeps.py"])


def test_a_run_without_codemods_imports_no_pool_nor_metadata_reader(tmp_path: Path) -> None:
    # With the result cache, as a pre-commit hook runs: multiprocessing (a pool, the plans'
    # children), importlib.metadata (libcst's version for the cache's salt) and packaging's
    # requirement parser cost ~40 ms of imports that such a run does not use.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (tmp_path / "mod.py").write_text(NAMED["plain.py"])
    (tmp_path / "db.py").write_text(
        "from sqlalchemy.orm import sessionmaker\n\nS = sessionmaker()\n"
    )
    probe = textwrap.dedent(
        """\
        import sys
        before = set(sys.modules)
        from asyncfix.cli import main
        try:
            main(["check", "mod.py"])
        except SystemExit:
            pass
        heavy = ("multiprocessing", "importlib.metadata", "packaging.requirements")
        print(sorted(m for m in set(sys.modules) - before if m.startswith(heavy)))
        """
    )
    for _ in range(2):  # (cold, then with the facts the first run kept)
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == "[]"
