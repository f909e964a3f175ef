"""What a codemod's prescreen reads, without libcst.

A prescreen is asked on Python's own `ast` of a file before libcst parses it. It lives in
a module that does not import libcst, and the codemod names it as its `SCREEN`, so a run
whose files no prescreen wants never loads libcst (see docs/architecture.md, "Speed").
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from asyncfix.config import Config

__all__ = ["Screen", "SourceView"]


@dataclass(frozen=True)
class SourceView:
    """What a prescreen sees: one file before libcst parses it (see
    AsyncfixCodemod.prescreen). `tree` is the stdlib ast of `source`, which the driver
    already made for its depth guard."""

    path: str
    source: bytes
    tree: ast.Module
    config: Config
    enabled: frozenset[str]  # rule codes selected for this run
    plans: Mapping[str, Any] = field(default_factory=dict)  # codemod name -> its plan here
    # codemod name -> what the indexing worker's note read of these very bytes for its
    # split prescreen (`Split.part`, codemods/speed/notes.py), which it may read instead
    # of the tree
    noted: Mapping[str, Any] = field(default_factory=dict)


# A codemod's prescreen: could it change or report anything in this file?
Screen = Callable[[SourceView], bool]
