"""Property tests: whatever valid Python goes in, the pipeline never raises, never leaves
code that does not parse (or compile, when the input did), a second run is a no-op, and a
file without findings comes back byte for byte.

Generic over the registry: the seeds are every rule's own example (Rule.before), every
golden input under testdata/, and the extra snippets in tests/seeds/*.txt, so a family is
fuzzed the moment it lands. Random code comes from hypothesmith (CPython's grammar).

In the suite the examples are few and derandomized (the same every run, so CI does not
flake). To explore: ASYNCFIX_FUZZ_EXAMPLES=500 pytest tests/test_properties.py (random
examples; hypothesis prints the failing one, shrunk).
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncfix.codemods import all_codemods, all_rules
from asyncfix.config import Config
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


def check_file(pipeline: Pipeline, source: str) -> None:
    data = source.encode("utf-8", "surrogateescape")
    file = SourceFile(Path("fuzz.py"), "fuzz.py")
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


@fuzz(examples=6)
@given(source=seeded_modules())
def test_seeded_modules(source: str) -> None:
    check_file(_pipeline(), source)


@fuzz(examples=3)
@given(sources=st.lists(seeded_modules(), min_size=1, max_size=3))
def test_seeded_projects(sources: list[str]) -> None:
    # Through run(): discovery, the project index and the plans of cross-file codemods.
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, source in enumerate(sources):
            (root / f"mod{i}.py").write_bytes(source.encode("utf-8", "surrogateescape"))
        first = run([root], Config(), jobs=1)
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
        second = run([root], Config(), jobs=1)
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
