"""FastAPI's route decorators, as names and as a stdlib-ast shape, without libcst: the
prescreens and the plans read them before libcst is imported (see `codemods/view.py`)."""

from __future__ import annotations

import ast
from collections.abc import Collection

# The decorators of a FastAPI path operation, `@app.get(...)` (an APIRouter's the same).
ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route"}
)


def route_decorator(
    decorator: ast.expr, methods: Collection[str] = ROUTE_METHODS
) -> ast.Attribute | None:
    """`<owner>.get` of a stdlib-ast decorator `@<owner>.get(...)` (one of `methods`)."""
    if (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in methods
    ):
        return decorator.func
    return None
