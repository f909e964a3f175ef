"""Every asyncfix rule code as a fixit rule: `[tool.fixit] enable = ["asyncfix.rules"]`.

The classes (one per code, named after it: `AF203`, ...) are generated from the codemod
registry by `asyncfix.fixit_bridge`, so a new family's rules appear here when it lands.
Only the generated classes are bound in this module: fixit collects every LintRule it finds.
"""

from __future__ import annotations

from asyncfix import fixit_bridge as _bridge

_RULES = _bridge.build_rules(__name__)
globals().update(_RULES)
__all__ = sorted(_RULES)
