"""A family package's exports, imported when first asked for (PEP 562).

A family's `__init__.py` names its codemods, which import libcst; its prescreen module
must not (see `asyncfix.codemods.view`), and importing a package's module runs the
package's `__init__.py` first. So the package names where each export lives and
`lazy_exports` imports it on first use (the registry's `getattr(family, "CODEMODS")`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: export name -> the submodule defining it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # asked once
        return value

    return __getattr__
