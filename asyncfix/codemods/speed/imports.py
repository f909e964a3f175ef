"""libcst's matchers imported for less.

`libcst.matchers` is a generated module of 174 frozen dataclasses without docstrings. For
each such class Python's `dataclasses` writes one, `Name(field: type, ...)`, by printing
`inspect.signature(cls)`: the fields are unions of dozens of matcher types, and that
printing was a third of the module's import (0.06 s of 0.17 s of CPU, Python 3.11), paid
by every run that rewrites a file (the codemods' base imports `libcst.codemod`, which
imports the matchers). Nothing reads those docstrings; only `help()` would show them.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from typing import Any


class _Unsigned:
    """`inspect` as `dataclasses` sees it while the matchers are made: no class has a
    signature to print (dataclasses then names the class alone, as it does for any class
    whose signature cannot be read). Everything else is inspect's own."""

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)

    @staticmethod
    def signature(obj: object, *args: Any, **kwargs: Any) -> inspect.Signature:
        raise ValueError("not printed: see asyncfix.codemods.speed.imports")


def import_matchers() -> None:
    """Import `libcst.matchers` (and so libcst), its classes' generated docstrings left
    to their names. Nothing to do when it is imported already, or on a Python whose
    dataclasses print no signatures through `inspect` (the families import it as ever)."""
    if "libcst.matchers" in sys.modules or not hasattr(dataclasses, "inspect"):
        return
    namespace = vars(dataclasses)
    saved = namespace["inspect"]
    namespace["inspect"] = _Unsigned()
    try:
        import libcst.matchers  # noqa: F401
    finally:
        namespace["inspect"] = saved
