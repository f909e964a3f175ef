"""Property tests: whatever valid Python goes in, the pipeline never raises, never leaves
code that does not parse (or compile, when the input did), a second run is a no-op, and a
file without findings comes back byte for byte.

Generic over the registry: the seeds are every rule's own example (Rule.before), every
golden input under testdata/, and the extra snippets in tests/seeds/*.txt, so a family is
fuzzed the moment it lands. Random code comes from hypothesmith (CPython's grammar).

Every family runs together, under the project configurations that change what the
codemods emit (see `setups`): the target client library, the declared FastAPI, SQLAlchemy
and httpx versions (or none), requires-python, the pool limits, test files or not; over
single files and over multi-module projects (a generated pyproject.toml, a package of
seeded modules, sometimes a golden multi-file case's input beside them).

In the suite the examples are few and derandomized (the same every run, so CI does not
flake). To explore: ASYNCFIX_FUZZ_EXAMPLES=2000 pytest tests/test_properties.py (random
examples; a failure prints the shrunk input: the pyproject.toml and every module).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from asyncfix.codemods import all_codemods, all_rules
from asyncfix.config import Config, find_pyproject, load_config
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile
from asyncfix.syntax import compiles

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).resolve().parent / "seeds"
SEPARATOR = "# ---\n"
EXPLORE = int(os.environ.get("ASYNCFIX_FUZZ_EXAMPLES", "0"))
# Driver errors that are asyncfix's fault (anything else is about the input).
OUR_FAULT = ("internal error", "worker failed", "too deeply nested to rewrite")

# Seeds that fail a property because of a bug already reported to the family's owner:
# kept out of the random mixes (each would fail every example it is drawn into) and checked
# alone by test_known_issue, which is strict: once fixed, it fails until removed from here.
KNOWN_ISSUES: dict[str, str] = {}


def fuzz(examples: int) -> settings:
    # Seeded files take a second or more each (every family runs, then the verification
    # runs them again): few examples in the suite keep it within a couple of minutes.
    return settings(
        max_examples=EXPLORE or examples,
        derandomize=not EXPLORE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@cache
def seeds() -> tuple[str, ...]:
    found = [rule.before for _, rule in all_rules().values()]
    for case in sorted(ROOT.glob("testdata/*/*.input.py")):
        known = case.relative_to(ROOT).as_posix() in KNOWN_ISSUES
        if case.parent.name != "legacy_app" and not known:
            found.append(case.read_bytes().decode("utf-8", "replace"))
    for extra in sorted(SEEDS.glob("*.txt")):
        found += [s for s in extra.read_text().split(SEPARATOR) if s.strip()]
    return tuple(s for s in found if s.strip())


def check_file(pipeline: Pipeline, source: str, path: Path = Path("fuzz.py")) -> None:
    data = source.encode("utf-8", "surrogateescape")
    file = SourceFile(path, path.name)
    outcome = pipeline.process(file, data)  # raising here fails the property
    assert not [e for e in outcome.errors if e.message.startswith(OUR_FAULT)], outcome.errors
    if not outcome.findings:
        assert outcome.new is None, "changed a file without reporting any finding"
    if outcome.new is None:
        return
    if compiles(data):
        assert compiles(outcome.new), outcome.new.decode(errors="replace")
    again = pipeline.process(file, outcome.new)
    assert again.new is None, "a second run changed the output"
    assert not [e for e in again.errors if e.message.startswith(OUR_FAULT)], again.errors


def test_every_codemod_has_a_seed_that_triggers_it() -> None:
    codemods = all_codemods()
    assert codemods, "the registry is empty"
    for codemod in codemods:
        assert any(codemod.may_match(s.encode()) for s in seeds()), codemod.NAME


@fuzz(examples=12)
@given(source=hypothesmith.from_grammar())
def test_random_valid_python(source: str) -> None:
    check_file(_pipeline(), source)


@st.composite
def seeded_modules(draw: st.DrawFn) -> str:
    """A few seeds, with random valid statements between them, sometimes CRLF."""
    parts = draw(st.lists(st.sampled_from(seeds()), min_size=1, max_size=3))
    pieces: list[str] = []
    for part in parts:
        pieces.append(part if part.endswith("\n") else part + "\n")
        if draw(st.booleans()):
            pieces.append(draw(hypothesmith.from_grammar(auto_target=False)) + "\n")
    source = "\n".join(pieces)
    if draw(st.booleans()):
        source = source.replace("\r\n", "\n").replace("\n", "\r\n")
    return source


# -- project configurations ------------------------------------------------------------

# Each entry: a choice the pipeline reads from the project, as pyproject.toml lines.
_CLIENTS = ((), ("httpx",), ("httpx==0.28.1",), ("aiohttp>=3.9",), ("httpx2",))
_FASTAPI = ((), ("fastapi",), ("fastapi==0.88.0",), ("fastapi>=0.131",), ("fastapi<0.131",))
_SQLALCHEMY = ((), ("sqlalchemy[asyncio]>=2.0",), ("sqlalchemy==1.3.24",))
_LIBRARY = (None, "httpx2", "httpx", "aiohttp")
# The seed article's pool limits (the documented example), a partial table, none.
_LIMITS: tuple[Mapping[str, int], ...] = (
    {},
    {
        "aiohttp-limit": 100,
        "aiohttp-limit-per-host": 20,
        "aiohttp-ttl-dns-cache": 300,
        "httpx-max-connections": 100,
        "httpx-max-keepalive-connections": 20,
    },
    {"aiohttp-limit": 10, "httpx-max-keepalive-connections": 50},
)
_PYTHON = (None, ">=3.8", ">=3.10")
_FASTAPI_SETTING = (None, "0.88", ">=0.131")


@dataclass(frozen=True)
class Setup:
    dependencies: tuple[str, ...]
    requires_python: str | None
    library: str | None  # [tool.asyncfix.http_client] library
    limits: Mapping[str, int]  # [tool.asyncfix.lifespan]
    fastapi_version: str | None  # [tool.asyncfix] fastapi-version
    tests: bool  # test files among the modules

    def pyproject(self) -> str:
        lines = ["[project]", 'name = "fuzzed"', 'version = "0"']
        if self.requires_python:
            lines.append(f'requires-python = "{self.requires_python}"')
        lines.append(f"dependencies = [{', '.join(map(repr, self.dependencies))}]")
        lines += ["", "[tool.asyncfix]"]
        if self.fastapi_version:
            lines.append(f'fastapi-version = "{self.fastapi_version}"')
        if self.library:
            lines += ["", "[tool.asyncfix.http_client]", f'library = "{self.library}"']
        if self.limits:
            lines += ["", "[tool.asyncfix.lifespan]"]
            lines += [f"{key} = {value}" for key, value in self.limits.items()]
        return "\n".join(lines) + "\n"


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    dependencies = (
        draw(st.sampled_from(_CLIENTS))
        + draw(st.sampled_from(_FASTAPI))
        + draw(st.sampled_from(_SQLALCHEMY))
    )
    return Setup(
        dependencies,
        draw(st.sampled_from(_PYTHON)),
        draw(st.sampled_from(_LIBRARY)),
        draw(st.sampled_from(_LIMITS)),
        draw(st.sampled_from(_FASTAPI_SETTING)),
        draw(st.booleans()),
    )


def _write_project(root: Path, setup: Setup, files: Mapping[str, str]) -> Config:
    (root / "pyproject.toml").write_text(setup.pyproject())
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.encode("utf-8", "surrogateescape"))
    note(f"--- pyproject.toml\n{setup.pyproject()}")
    for name, source in files.items():
        note(f"--- {name}\n{source}")
    return load_config(find_pyproject(root / "pyproject.toml"))


@fuzz(examples=8)
@given(setup=setups(), source=seeded_modules())
def test_seeded_modules(setup: Setup, source: str) -> None:
    # One file, every family, under the project's configuration.
    name = "tests/test_fuzz.py" if setup.tests else "app/fuzz.py"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = _write_project(root, setup, {name: source})
        check_file(Pipeline(config), source, root / name)


@cache
def tree_inputs() -> tuple[Mapping[str, str], ...]:
    """The modules of each golden multi-file case's input, by path (its own pyproject.toml
    is replaced by the generated one)."""
    found = []
    for case in sorted(ROOT.glob("testdata/*/*/input")):
        if case.parent.parent.name == "legacy_app":
            continue
        found.append(
            {
                p.relative_to(case).as_posix(): p.read_bytes().decode("utf-8", "replace")
                for p in sorted(case.rglob("*.py"))
            }
        )
    return tuple(found)


@st.composite
def projects(draw: st.DrawFn) -> tuple[Setup, dict[str, str]]:
    """A configuration, and modules: a package of seeded modules, sometimes beside a
    golden multi-file case's modules (apps, routers and clients across modules), and
    test modules when the setup has tests."""
    setup = draw(setups())
    files: dict[str, str] = {}
    if draw(st.booleans()):
        files.update(draw(st.sampled_from(tree_inputs())))
    files["fuzzpkg/__init__.py"] = ""
    for i in range(draw(st.integers(min_value=1, max_value=3))):
        files[f"fuzzpkg/mod{i}.py"] = draw(seeded_modules())
    if setup.tests:
        files["tests/test_fuzz.py"] = draw(seeded_modules())
    return setup, files


@fuzz(examples=5)
@given(project=projects())
def test_seeded_projects(project: tuple[Setup, dict[str, str]]) -> None:
    # Through run(): discovery, the project index and the plans of cross-file codemods.
    setup, files = project
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = _write_project(root, setup, files)
        first = run([root], config, jobs=1)
        assert not [e for e in first.errors if e.message.startswith(OUR_FAULT)], first.errors
        for outcome in first.outcomes:
            if outcome.new is None:
                continue
            assert outcome.original is not None
            if compiles(outcome.original):
                assert compiles(outcome.new), outcome.file.display
            outcome.file.path.write_bytes(outcome.new)
        if not first.findings:
            assert not [o for o in first.outcomes if o.new is not None]
        second = run([root], config, jobs=1)
        assert not [e for e in second.errors if e.message.startswith(OUR_FAULT)], second.errors
        assert not [o.file.display for o in second.outcomes if o.new is not None]


@cache
def _pipeline() -> Pipeline:
    return Pipeline(Config())


def _snippets() -> list[str]:
    return [
        snippet
        for extra in sorted(SEEDS.glob("*.txt"))
        for snippet in extra.read_text().split(SEPARATOR)
        if snippet.strip()
    ]


@pytest.mark.parametrize("index", range(len(_snippets())))
def test_each_snippet_alone(index: int) -> None:
    # The hand-written seeds, deterministically, before any random mixing (the golden
    # inputs are checked the same way by test_golden.py).
    check_file(_pipeline(), _snippets()[index])


def test_known_issues_still_fail() -> None:
    # Not a parametrized xfail: with no known issue left that would be an (empty) skip.
    # Once an issue is fixed, this fails until its entry leaves KNOWN_ISSUES, so that its
    # seed is fuzzed again.
    for case, reason in KNOWN_ISSUES.items():
        with pytest.raises(AssertionError):
            check_file(_pipeline(), (ROOT / case).read_text())
            pytest.fail(f"fixed, remove it from KNOWN_ISSUES: {case} ({reason})")
