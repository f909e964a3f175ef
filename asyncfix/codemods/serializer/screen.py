"""The serializer's prescreen, on the stdlib ast (no libcst): could the transform act on
some call of this file? It reads the family's description (`sites.py`): every site is a
call made directly in an async def, whose qualified name `SITES` lists."""

from __future__ import annotations

import ast
from collections.abc import Collection

from asyncfix.codemods.serializer.sites import CONTENT, JSON_BODY, ROUTES, SITES
from asyncfix.codemods.speed.screens import every_node
from asyncfix.codemods.view import SourceView
from asyncfix.index import children, full_name

_JSON_BODIES = SITES.named(JSON_BODY)


def screen_serializer(view: SourceView) -> bool:
    """The SCREEN of Serializer: a call on the event loop the transform may act on."""
    names, imports_pandas = screen_names(view.tree)
    if not names:
        return False
    return calls_on_loop(view.tree, names, ActingCalls(view.tree, imports_pandas))


def screen_names(tree: ast.Module) -> tuple[frozenset[str], bool]:
    """One walk of the stdlib ast: the call names worth resolving metadata for (empty when
    there are none), and whether pandas is imported. A call counts by its last name as
    written, and an import alias (`from json import dumps as encode`) may be a site."""
    callees: set[str] = set()
    aliases: set[str] = set()
    imports_pandas = False
    for node in every_node(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                callees.add(func.id)
            elif isinstance(func, ast.Attribute):
                callees.add(func.attr)
        elif isinstance(node, ast.Import):
            imports_pandas |= any(_is_pandas(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            imports_pandas |= _is_pandas(node.module)
            aliases.update(a.asname for a in node.names if a.asname is not None)
    acting = SITES.acting | aliases
    names = callees & (acting | SITES.wrapping)
    return (frozenset(names) if names & acting else frozenset()), imports_pandas


def _is_pandas(module: str) -> bool:
    return module == "pandas" or module.startswith("pandas.")


def calls_on_loop(
    tree: ast.Module, names: Collection[str], acts: ActingCalls | None = None
) -> bool:
    """Is some call to one of `names` (last name as written) made directly on the event
    loop: in an async def's own body or a comprehension there, not in a nested def, lambda
    or class body (whose defaults, decorators and bases do count: they run there)? With
    `acts`, only a call the transform may act on in that async def counts."""
    pending: list[tuple[ast.AST, ast.AsyncFunctionDef]] = []
    for node in every_node(tree):
        if isinstance(node, ast.AsyncFunctionDef):
            pending.extend((statement, node) for statement in node.body)
    while pending:
        node, function = pending.pop()
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names and (acts is None or acts(node, function)):
                return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            # An inner async def is walked on its own; its body is not this loop code.
            body = _body(node)
            pending += [(c, function) for c in children(node) if c not in body]
        else:
            pending += [(c, function) for c in children(node)]
    return False


def _body(node: ast.AST) -> list[ast.AST]:
    body = getattr(node, "body", [])
    return body if isinstance(body, list) else [body]


class ActingCalls:
    """May the transform act on (change or report) a call made on the loop in an async def?

    A sufficient "no" only. The transform acts on a call by the one qualified name libcst
    gives it (QualifiedNameProvider on the Call: the dotted name of its func through calls
    and subscripts, resolved by the longest prefix bound in scope): on those of
    `SITES.always`; on JSONResponse only with a payload that is not a small literal, in a
    route (`ROUTES`, on a name some `name = FastAPI()` or APIRouter() makes); on the pandas
    methods only when pandas is imported. A Response acts only around a json.dumps made in
    it, which counts by itself. That qualified name is the name as written (a module-level,
    builtin or unbound name, or a plain `import a.b`), what an import anywhere in the module
    may bind its head to, or a local, class or relative name (with `<locals>`, a class
    prefix or a leading dot) that is never one of those.
    """

    def __init__(self, tree: ast.Module, imports_pandas: bool) -> None:
        self._imports_pandas = imports_pandas
        self._bound: dict[str, set[str]] = {}  # local name -> what an import binds it to
        self._star: list[str] = []  # modules imported with *: any head may come from them
        self._made: dict[str, list[ast.expr]] = {}  # `name = f(...)`: the f of each
        for node in every_node(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
            ):
                self._made.setdefault(node.targets[0].id, []).append(node.value.func)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname is not None:
                        self._bound.setdefault(alias.asname, set()).add(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        self._star.append(node.module)
                    else:
                        local = alias.asname or alias.name
                        self._bound.setdefault(local, set()).add(f"{node.module}.{alias.name}")

    def _qualified(self, func: ast.expr) -> set[str]:
        """Every name libcst's qualified name of a call to `func` may be."""
        written = full_name(func)
        if written is None:
            return set()  # libcst's "None.attr": not a name anything binds
        head, dot, rest = written.partition(".")
        found = {written, *(f"{module}.{written}" for module in self._star)}
        found.update(bound + dot + rest for bound in self._bound.get(head, ()))
        return found

    def __call__(self, call: ast.Call, function: ast.AsyncFunctionDef) -> bool:
        func = call.func
        if self._imports_pandas and isinstance(func, ast.Attribute) and func.attr in SITES.methods:
            return True
        qualified = self._qualified(func)
        if qualified & SITES.always:
            return True
        if not qualified & _JSON_BODIES:
            return False
        content = CONTENT.in_ast(call)
        return (
            content is not None
            and not _small_literal(content)
            and any(self._route(d) for d in function.decorator_list)
        )

    def _route(self, decorator: ast.expr) -> bool:
        """A `ROUTES` decorator on a name some `name = FastAPI()/APIRouter()` makes."""
        app = ROUTES.app_in(decorator)
        made = self._made.get(app, ()) if app is not None else ()
        return any(self._qualified(func) & ROUTES.apps for func in made)


def _small_literal(node: ast.expr) -> bool:
    """Only where the transform's `small_literal` surely holds: constants (no f-string,
    bytes or complex), a negated number, and lists, tuples and dicts of them."""
    if isinstance(node, ast.List | ast.Tuple):
        return all(_small_literal(e) for e in node.elts)  # a Starred is not small
    if isinstance(node, ast.Dict):
        return all(
            key is not None and _small_literal(key) and _small_literal(value)
            for key, value in zip(node.keys, node.values, strict=True)
        )
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub) and _is_number(node.operand)
    return isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, bool | str) or _is_number(node)
    )


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)
