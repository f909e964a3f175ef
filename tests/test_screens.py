"""The prescreen contract (`asyncfix.codemods.view`): a codemod's SCREEN is a function in
a module that imports no libcst, so that a file no prescreen wants never loads it.

Each SCREEN's module is imported in a fresh interpreter, and the SCREEN is asked about
its own rules' examples there (the shapes it must pass and those it must not); libcst
must still be absent afterwards: not imported by the module, nor by the screen at work.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from asyncfix.codemods import AsyncfixCodemod, all_codemods
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config

SCREENED = [c for c in all_codemods() if c.SCREEN is not None]

_PROBE = textwrap.dedent(
    """
    import ast, importlib, sys
    from asyncfix.codemods.view import SourceView
    from asyncfix.config import Config

    module, name, codes, sources = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    screen = getattr(importlib.import_module(module), name)
    assert "libcst" not in sys.modules, f"importing {module} loads libcst"
    answers = []
    for source in sources:
        config = Config(select=tuple(sorted(codes.split(","))))
        view = SourceView("m.py", source.encode(), ast.parse(source), config,
                          frozenset(codes.split(",")))
        answers.append(screen(view))
    assert "libcst" not in sys.modules, f"{module}.{name} loads libcst when asked"
    print(answers)
    """
)


def test_the_families_moved_to_screen_are_covered() -> None:
    names = {c.NAME for c in SCREENED}
    assert {"serializer", "async-without-await"} <= names


@pytest.mark.parametrize("codemod", SCREENED, ids=lambda c: c.NAME)
def test_screen_runs_without_libcst(codemod: type[AsyncfixCodemod]) -> None:
    screen = codemod.SCREEN
    assert screen is not None
    assert "prescreen" not in vars(codemod), f"{codemod.NAME} overrides prescreen"
    assert screen.__module__.startswith(f"asyncfix.codemods.{codemod.FAMILY}.")
    examples = [text for rule in codemod.RULES for text in (rule.before, *rule.valid)]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            screen.__module__,
            screen.__qualname__,
            ",".join(codemod.codes()),
            *examples,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    # The probe asked the real screen: the same answers as here, where each rule's
    # `before` (a site) passes.
    answers = [screen(_view(text, codemod)) for text in examples]
    assert proc.stdout.strip() == repr(answers)
    befores = [rule.before for rule in codemod.RULES]
    assert all(screen(_view(text, codemod)) for text in befores)


def _view(source: str, codemod: type[AsyncfixCodemod]) -> SourceView:
    enabled = frozenset(codemod.codes())
    # Selected by code, as an opt-in rule (AF206) must be.
    config = Config(select=tuple(sorted(enabled)))
    return SourceView("m.py", source.encode(), ast.parse(source), config, enabled)
