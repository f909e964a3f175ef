"""What the project's tests assume of a module AF201 would rewrite (stdlib ast, no libcst).

Two shapes break when requests moves to a client the app's lifespan creates:
- `client = TestClient(app)` outside a `with`: Starlette runs the lifespan only inside
  `with TestClient(app)`, so `request.app.state.http_client` is never set there;
- a mock of the module's own `requests` (`mock.patch("app.main.requests.get")`,
  `monkeypatch.setattr(main.requests, "get", ...)`): the rewrite drops that import, so the
  patch target no longer exists.
The plan reports the sites these tests cover instead of rewriting them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from asyncfix.index import ModuleInfo, ProjectIndex

# A dotted module path followed by `.requests` in a string: a patch target.
_PATCHED = re.compile(r"^([A-Za-z_][\w.]*)\.requests(?:\.\w+)*$")


def bare_test_client(index: ProjectIndex) -> str | None:
    """Where (`path:line`) the project first builds a TestClient outside a `with`, if it
    does: those tests never run the app's lifespan."""
    for info in index.modules(b"TestClient"):
        with_items = {
            id(item.context_expr)
            for node in ast.walk(info.tree)
            if isinstance(node, ast.With | ast.AsyncWith)
            for item in node.items
        }
        for node in ast.walk(info.tree):
            if (
                isinstance(node, ast.Call)
                and (info.resolve(node.func) or "").endswith(".TestClient")
                and id(node) not in with_items
            ):
                return f"{info.path}:{node.lineno}"
    return None


def patched_requests(index: ProjectIndex) -> dict[str, str]:
    """Module name -> where (`path:line`) a test patches that module's `requests`."""
    found: dict[str, str] = {}
    for info in index.modules(b".requests"):
        for module, line in _targets(info):
            found.setdefault(module, f"{info.path}:{line}")
    return found


def _targets(info: ModuleInfo) -> Iterator[tuple[str, int]]:
    for node in ast.walk(info.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _PATCHED.match(node.value)
            if match:
                yield match.group(1), node.lineno
        elif isinstance(node, ast.Attribute) and node.attr == "requests":
            owner = info.resolve(node.value)
            if owner is not None and owner != "requests":
                yield owner, node.lineno
