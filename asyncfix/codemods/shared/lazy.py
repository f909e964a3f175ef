"""A family package's exports, imported when first asked for (PEP 562).

A family's `__init__.py` names its codemods, which import libcst; its prescreen module
must not (see `asyncfix.codemods.view`), and importing a package's module runs the
package's `__init__.py` first. So the package names where each export lives and
`lazy_exports` imports it on first use (the registry's `getattr(family, "CODEMODS")`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], codemods: Sequence[str] = ()
) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: export name -> the module defining it,
    relative to `package` (`on_event`, or `.shared.app_events` for a sibling package's).
    `codemods`: exports that make up the package's CODEMODS, in their declared order."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if name == "CODEMODS" and module is None and codemods:
            value: Any = tuple(__getattr__(codemod) for codemod in codemods)
        elif module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        else:
            value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)  # asked once
        return value

    return __getattr__
