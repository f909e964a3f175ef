"""Matching helpers every family shares: where code runs, how a module is reachable."""

from __future__ import annotations

import ast
import symtable
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    ComprehensionScope,
    FunctionScope,
    ImportAssignment,
    Scope,
)

from asyncfix.index import full_name

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


@dataclass(frozen=True)
class LoopContext:
    """Where a node runs relative to the event loop."""

    function: cst.FunctionDef | None  # the async def whose body runs it directly
    in_generator_expression: bool  # an await here would make the genexp asynchronous

    @property
    def on_event_loop(self) -> bool:
        return self.function is not None


def loop_context(scope: Scope | None) -> LoopContext:
    """Does code in `scope` run directly on the event loop?

    Only the body of an `async def` does, and comprehensions inside it. A nested `def` or a
    `lambda` may run in a thread, and a parameter default runs where the function is
    defined: libcst's scopes already tell these apart.
    """
    in_genexp = False
    while isinstance(scope, ComprehensionScope):
        in_genexp = in_genexp or isinstance(scope.node, cst.GeneratorExp)
        scope = scope.parent
    if (
        isinstance(scope, FunctionScope)
        and isinstance(scope.node, cst.FunctionDef)
        and scope.node.asynchronous is not None
    ):
        return LoopContext(scope.node, in_genexp)
    return LoopContext(None, in_genexp)


def _imports_module_plainly(assignment: ImportAssignment, module: str) -> bool:
    node = assignment.node
    if not isinstance(node, cst.Import):
        return False
    for alias in node.names:
        name = get_full_name_for_node(alias.name) or ""
        if alias.asname is None and (name == module or name.startswith(module + ".")):
            return True
    return False


@dataclass(frozen=True)
class ModuleName:
    """How to spell a module at a site: the name, and whether `import <module>` is needed."""

    name: str
    needs_import: bool


def module_name_at(scope: Scope, module: str) -> ModuleName | None:
    """The name under which `module` (a top-level module such as asyncio) is usable in scope.

    None when its plain name is taken by something else there, so the caller must not
    write `module.attr` (and reports a finding instead).
    """
    if module in scope:
        assignments = scope[module]
        if all(
            isinstance(a, ImportAssignment) and _imports_module_plainly(a, module)
            for a in assignments
        ):
            return ModuleName(module, needs_import=False)
        return None
    # `import asyncio as aio` at module level, visible here under its alias.
    for assignment in scope.globals.assignments:
        if not isinstance(assignment, ImportAssignment) or not isinstance(
            assignment.node, cst.Import
        ):
            continue
        for alias in assignment.node.names:
            if (
                get_full_name_for_node(alias.name) == module
                and alias.asname is not None
                and isinstance(alias.asname.name, cst.Name)
            ):
                local = alias.asname.name.value
                if all(isinstance(a, ImportAssignment) for a in scope[local]):
                    return ModuleName(local, needs_import=False)
    return ModuleName(module, needs_import=True)


def parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """Wrap in parentheses unless already wrapped."""
    if node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def is_primary_operand(parent: cst.CSTNode | None, child: cst.CSTNode) -> bool:
    """Is `child` the object of `.attr`, `[i]` or `(...)` in `parent`?

    There `await child` must be parenthesized, or `await` would bind to the whole primary.
    """
    return (
        (isinstance(parent, cst.Attribute) and parent.value is child)
        or (isinstance(parent, cst.Subscript) and parent.value is child)
        or (isinstance(parent, cst.Call) and parent.func is child)
    )


def make_await(call: cst.BaseExpression, *, as_primary: bool) -> cst.BaseExpression:
    """`await call`, moving the call's own parentheses outside the await."""
    awaited = cst.Await(
        expression=call.with_changes(lpar=[], rpar=[]), lpar=call.lpar, rpar=call.rpar
    )
    return parenthesize(awaited) if as_primary else awaited


def inside_sync_lock(statements: list[cst.CSTNode], function: cst.FunctionDef) -> bool:
    """Is there a plain `with <...lock...>:` between `function` and the innermost statement?

    Yielding to the event loop while a thread lock is held lets another task block the
    loop's thread on that same lock: a deadlock a rewrite must not introduce.
    """
    inside = False
    for stmt in statements:
        if stmt is function:
            inside = True
        elif inside and isinstance(stmt, cst.With) and stmt.asynchronous is None:
            for item in stmt.items:
                text = cst.Module([]).code_for_node(item.item).lower()
                if "lock" in text or "mutex" in text or "semaphore" in text:
                    return True
    return False


def remove_import_if_unused(context: CodemodContext, scope: Scope, reference: cst.CSTNode) -> None:
    """Schedule removal of the import that binds the head name of `reference`
    (`time` in `time.sleep`, `sleep` in `sleep`), kept if anything else still uses it.

    libcst's `remove_unused_import_by_node` does the same with a full tree walk per call.
    """
    head = reference
    while isinstance(head, cst.Attribute):
        head = head.value
    if not isinstance(head, cst.Name) or head.value not in scope:
        return
    local = head.value
    for assignment in scope[local]:
        if not isinstance(assignment, ImportAssignment):
            continue
        node = assignment.node
        if not isinstance(node, cst.Import | cst.ImportFrom) or isinstance(
            node.names, cst.ImportStar
        ):
            continue
        for alias in node.names:
            bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
            if bound != local:
                continue
            if isinstance(node, cst.Import):
                RemoveImportsVisitor.remove_unused_import(
                    context, alias.evaluated_name, asname=alias.evaluated_alias
                )
            elif node.module is not None and not node.relative:
                RemoveImportsVisitor.remove_unused_import(
                    context,
                    get_full_name_for_node(node.module) or "",
                    alias.evaluated_name,
                    alias.evaluated_alias,
                )


class TopImportsAdder(AddImportsVisitor):
    """libcst's AddImportsVisitor without its walks of what it never looks at: the
    imports it has to know of, and may extend, are those at the top of the module
    (its gatherer stops at the first statement after them that is not an import line;
    its `leave_ImportFrom` acts on those alone). The statements after that first one are
    not entered; the walks of the whole module were most of its cost."""

    _later: frozenset[int] = frozenset()

    def visit_Module(self, node: cst.Module) -> None:
        leading = _leading_statements(node.body)
        self._later = frozenset(id(statement) for statement in node.body[len(leading) :])
        super().visit_Module(node.with_changes(body=leading))

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) not in self._later and super().on_visit(node)


def _leading_statements(
    body: Sequence[cst.BaseStatement],
) -> Sequence[cst.BaseStatement]:
    """The first statement (a docstring may come first), the import lines after it, and
    the statement that ends them."""
    for index, statement in enumerate(body[1:], 1):
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and isinstance(statement.body[0], cst.Import | cst.ImportFrom)
        ):
            return body[: index + 1]
    return body


def imports_still_used(code: str, scheduled: Iterable[tuple[str, str | None, str | None]]) -> bool:
    """True when RemoveImportsVisitor would remove none of the `scheduled` imports
    (module, obj, asname) from `code`: Python's own scope analysis (`symtable`) shows each
    name they bind at module level read somewhere. The common case (another use of
    `json` remains), told for a fraction of libcst's scope analysis of the rewritten
    module, which is most of an import removal's cost. False when it cannot be told:
    a dotted `import a.b` (libcst weighs each prefix), a name imported in a nested
    scope, one only exported or in a string annotation, a text Python cannot read."""
    try:
        with warnings.catch_warnings():  # invalid escapes etc.: not ours to report
            warnings.simplefilter("ignore")
            top = symtable.symtable(code, "<asyncfix>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    nested = _nested_tables(top)
    for module, obj, asname in scheduled:
        name = asname or obj or (None if "." in module else module)
        if name is None:
            return False
        # libcst drops an unused import wherever it is: a nested one is its to judge.
        inner = [table.lookup(name) for table in nested if name in table.get_identifiers()]
        if any(s.is_imported() for s in inner):
            return False
        symbol = top.lookup(name) if name in top.get_identifiers() else None
        if symbol is None or not symbol.is_imported():
            continue  # no import binds it: libcst finds none to drop
        # A read in a nested scope reaches the module's name only when it is global there.
        if not symbol.is_referenced() and not any(
            s.is_referenced() and s.is_global() for s in inner
        ):
            return False
    return True


def _nested_tables(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    found: list[symtable.SymbolTable] = []
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.get_children())
    return found


def to_thread_call(asyncio: str, call: cst.Call) -> cst.Call:
    """`asyncio.to_thread(f, *args, **kwargs)` for `f(*args, **kwargs)`: the arguments are
    still evaluated first, on the loop, in their order; only the call moves to a thread.
    A call laid out one argument per line keeps that layout: `f` gets its own line."""
    func = cst.Attribute(cst.Name(asyncio), cst.Name("to_thread"))
    if not call.args:
        return call.with_changes(func=func, args=[cst.Arg(call.func)])
    after = call.whitespace_before_args
    spacing = after if isinstance(after, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    first = cst.Arg(call.func, comma=cst.Comma(whitespace_after=spacing))
    return call.with_changes(func=func, args=[first, *call.args])


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
