"""A codemod's prescreen is a SCREEN function in a module that imports no libcst, so a
run whose files no prescreen wants never loads libcst (docs/architecture.md, "Speed").
Checked here for the families whose screens have moved to the contract."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asyncfix.codemods import AsyncfixCodemod, all_codemods
from asyncfix.codemods.db_session import names

# The families whose prescreens follow the SCREEN contract (add a family once it does).
FAMILIES = frozenset({"db_session", "awaits"})
CODEMODS = [c for c in all_codemods() if c.FAMILY in FAMILIES]


def test_every_family_is_found() -> None:
    assert {c.FAMILY for c in CODEMODS} == FAMILIES


@pytest.mark.parametrize("codemod", CODEMODS, ids=lambda c: c.NAME)
def test_screen_is_a_function_of_a_module_without_libcst(codemod: type[AsyncfixCodemod]) -> None:
    assert codemod.SCREEN is not None, f"{codemod.NAME} has no SCREEN"
    assert "prescreen" not in vars(codemod), f"{codemod.NAME} overrides prescreen"
    module = codemod.SCREEN.__module__
    assert module.startswith(f"asyncfix.codemods.{codemod.FAMILY}.")
    code = f"import sys, {module}; print('libcst' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "False", f"importing {module} loads libcst"


def test_db_session_tokens_are_in_every_name_they_stand_for() -> None:
    # The byte triggers skip a file without the token: every name it stands for holds it.
    makers = names.MAKER_TAILS
    sessions = names.SESSION_TAILS | makers
    assert all(names.MAKER_TOKEN.decode() in tail for tail in makers)
    assert all(names.SESSION_TOKEN.decode() in tail for tail in sessions)
    assert all(names.SESSION_WORD in tail.lower() for tail in sessions)
