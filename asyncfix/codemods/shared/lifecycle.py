"""The functions that run at an app's startup or shutdown, on the stdlib ast, without
libcst: the plans and the prescreens read them before libcst is imported (see
`codemods/view.py`)."""

from __future__ import annotations

import ast

from asyncfix.index import full_name

_LIFECYCLE_KEYWORDS = frozenset({"lifespan", "on_startup", "on_shutdown"})


def lifecycle_functions(tree: ast.Module) -> set[str]:
    """Module-level functions that run at an app's startup or shutdown: a lifespan (an
    `asynccontextmanager` passed as `lifespan=` or taking a `FastAPI`/`Starlette` app),
    `on_event` handlers, and those of `on_startup=`, `on_shutdown=`, `add_event_handler`;
    and the module's functions these call, transitively (AF301 turns a registered handler
    into a call in the lifespan: both forms must give the same answer). They run once,
    before serving or after it: making their calls faster (a thread, a plain def) gains
    nothing."""
    found: set[str] = set()
    # (registrations are module-level statements: function bodies are not walked)
    statements = [s for s in tree.body if isinstance(s, ast.Assign | ast.AnnAssign | ast.Expr)]
    for node in (n for stmt in statements for n in ast.walk(stmt)):
        if isinstance(node, ast.Call):
            values = [kw.value for kw in node.keywords if kw.arg in _LIFECYCLE_KEYWORDS]
            if isinstance(node.func, ast.Attribute) and node.func.attr == "add_event_handler":
                values += node.args[1:2] + [kw.value for kw in node.keywords if kw.arg == "func"]
            for value in values:
                items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                found.update(i.id for i in items if isinstance(i, ast.Name))
    for stmt in tree.body:
        if not isinstance(stmt, ast.AsyncFunctionDef):
            continue
        for decorator in stmt.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = full_name(func) or ""
            if name.endswith("on_event") and isinstance(decorator, ast.Call):
                found.add(stmt.name)
            elif name.rpartition(".")[2] == "asynccontextmanager" and stmt.args.args:
                annotation = full_name(stmt.args.args[0].annotation or ast.Constant(None))
                if (annotation or "").rpartition(".")[2] in ("FastAPI", "Starlette"):
                    found.add(stmt.name)
    defs = {
        stmt.name: stmt
        for stmt in tree.body
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    todo = [name for name in found if name in defs]
    while todo:
        for node in ast.walk(defs[todo.pop()]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                callee = node.func.id
                if callee in defs and callee not in found:
                    found.add(callee)
                    todo.append(callee)
    return found
