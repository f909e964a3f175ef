"""Family `serializer` (AF1xx): JSON and pandas serialization on the event loop.

One transformer owns the four rules because they meet at the same sites: a
`Response(content=json.dumps(data))` in a FastAPI path operation is AF103 when that rule
is selected (AF101 otherwise), and AF103's fix may replace the Response around the
json.dumps call that AF101 would rewrite.

What "keeps behaviour" means here. orjson does not write the same text as json.dumps: no
spaces after `,` and `:`, UTF-8 where json.dumps writes `\\uXXXX` escapes, and NaN or an
infinity as `null` where json.dumps writes the non-JSON tokens `NaN`/`Infinity`. So
json.dumps is rewritten only where its text is sent as an HTTP body that declares a JSON
media type, and nothing else sees it: there only the parsed JSON value counts, and that is
the same. Everywhere else (a str that is compared, hashed, signed, stored, logged, returned)
it is a finding. The inputs on which the two libraries differ are listed in the README.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from asyncfix import syntax
from asyncfix.codemods.helpers import route_decorator
from asyncfix.codemods.serializer._shared import (
    CANDIDATES,
    FASTAPI_APPS,
    JSON_FILE_IO,
    JSON_RESPONSE,
    PANDAS_METHODS,
    PANDAS_READERS,
    STARLETTE_RESPONSE,
    callee,
)
from asyncfix.codemods.serializer.dumps import AF101, AF103, DumpsRules
from asyncfix.codemods.serializer.loads import AF102, LoadsRule
from asyncfix.codemods.serializer.offload import AF104, OffloadRule
from asyncfix.codemods.view import SourceView
from asyncfix.index import children, full_name, walk


def screen_names(tree: ast.Module) -> tuple[frozenset[str], bool]:
    """One walk of the stdlib ast: the call names worth resolving metadata for (empty when
    there are none), and whether pandas is imported. A call counts by its last name as
    written, and an import alias (`from json import dumps as encode`) may be a site."""
    callees: set[str] = set()
    aliases: set[str] = set()
    imports_pandas = False
    for node in walk(tree):
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
    names = callees & (CANDIDATES | {"Response"} | aliases)
    return (frozenset(names) if names & (CANDIDATES | aliases) else frozenset()), imports_pandas


def _is_pandas(module: str) -> bool:
    return module == "pandas" or module.startswith("pandas.")


def calls_on_loop(
    tree: ast.Module, names: Collection[str], acts: _ActingCalls | None = None
) -> bool:
    """Is some call to one of `names` (last name as written) made directly on the event
    loop: in an async def's own body or a comprehension there, not in a nested def, lambda
    or class body (whose defaults, decorators and bases do count: they run there)? With
    `acts`, only a call the transform may act on in that async def counts."""
    pending: list[tuple[ast.AST, ast.AsyncFunctionDef]] = []
    for node in walk(tree):
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


# What leave_Call acts on, by the one qualified name libcst gives the call.
_ALWAYS_ACTED_ON = frozenset({"json.dumps", "json.loads", *JSON_FILE_IO, *PANDAS_READERS})


class _ActingCalls:
    """May the transform act on (change or report) a call made on the loop in an async def?

    A sufficient "no" only. The transform acts on a call whose qualified name (libcst's
    QualifiedNameProvider on the Call: the dotted name of its func through calls and
    subscripts, resolved by the longest prefix bound in scope) is json.dumps/loads/dump/load
    or a pandas reader; on JSONResponse only with a payload that is not a small literal,
    in a route (a `@<name>.<method>(...)` decorator on a name some `name = FastAPI()` or
    APIRouter() makes); on `.to_json()`-like methods only when pandas is imported. A Response
    acts only around a json.dumps made in it, which counts by itself. That qualified name
    is the name as written (a module-level, builtin or unbound name, or a plain `import a.b`),
    what an import anywhere in the module may bind its head to, or a local, class or relative
    name (with `<locals>`, a class prefix or a leading dot) that is never one of those.
    """

    def __init__(self, tree: ast.Module, imports_pandas: bool) -> None:
        self._imports_pandas = imports_pandas
        self._bound: dict[str, set[str]] = {}  # local name -> what an import binds it to
        self._star: list[str] = []  # modules imported with *: any head may come from them
        self._made: dict[str, list[ast.expr]] = {}  # `name = f(...)`: the f of each
        for node in walk(tree):
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
        if self._imports_pandas and isinstance(func, ast.Attribute) and func.attr in PANDAS_METHODS:
            return True
        qualified = self._qualified(func)
        if qualified & _ALWAYS_ACTED_ON:
            return True
        if not qualified & JSON_RESPONSE:
            return False
        content = _ast_content(call)
        return (
            content is not None
            and not _ast_small_literal(content)
            and any(self._route_like(d) for d in function.decorator_list)
        )

    def _route_like(self, decorator: ast.expr) -> bool:
        """`_is_route_decorator`'s shape, on a name some `name = FastAPI()/APIRouter()` makes."""
        method = route_decorator(decorator)
        if method is None or not isinstance(method.value, ast.Name):
            return False
        made = self._made.get(method.value.id, ())
        return any(self._qualified(func) & FASTAPI_APPS for func in made)


def _ast_content(call: ast.Call) -> ast.expr | None:
    """`argument(call, 0, "content")` on the ast: a plain first argument is first in the
    source too (no positional argument may follow a keyword or **)."""
    for keyword in call.keywords:
        if keyword.arg == "content":
            return keyword.value
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


def _ast_small_literal(node: ast.expr) -> bool:
    """Only where `small_literal` surely holds: constants (no f-string, bytes or complex),
    a negated number, and lists, tuples and dicts of them."""
    if isinstance(node, ast.List | ast.Tuple):
        return all(_ast_small_literal(e) for e in node.elts)  # a Starred is not small
    if isinstance(node, ast.Dict):
        return all(
            key is not None and _ast_small_literal(key) and _ast_small_literal(value)
            for key, value in zip(node.keys, node.values, strict=True)
        )
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub) and _is_number(node.operand)
    return isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, bool | str) or _is_number(node)
    )


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


class Serializer(DumpsRules, LoadsRule, OffloadRule):
    """The family's one codemod: the screens, and `leave_Call` handing each call to the
    rule mixin that owns its kind (json.dumps/Response/JSONResponse, json.loads, to a
    worker thread)."""

    NAME = "serializer"
    FAMILY = "serializer"
    RULES = (AF101, AF102, AF103, AF104)
    TRIGGERS = (b"async",)  # and one of b"json", b"JSON", b"pandas": see may_match
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def may_match(cls, data: bytes) -> bool:
        return b"async" in data and (b"json" in data or b"JSON" in data or b"pandas" in data)

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Every site is a call made directly in an async def (see `_on_loop`).
        names, imports_pandas = screen_names(view.tree)
        if not names:
            return False
        acts = _ActingCalls(view.tree, imports_pandas)
        return calls_on_loop(view.tree, names, acts)

    def screen(self, module: cst.Module) -> bool:
        tree = self.run.syntax_tree() if module is self.run.original else None
        if tree is None:
            try:  # a tree another codemod rewrote: still cheaper than a libcst walk
                tree = syntax.parse(module.code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False  # cannot be screened (too deep for ast): left as it is
        self._names, self._imports_pandas = screen_names(tree)
        return bool(self._names)

    # -- dispatch -------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._strip:
            # `json.dumps(x).encode()` whose json.dumps is now orjson.dumps (bytes already).
            assert isinstance(updated_node.func, cst.Attribute)
            inner = updated_node.func.value
            return inner.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        if callee(original_node) not in self._names:
            return updated_node
        name = self._qualified(original_node)
        if name == "json.dumps":
            return self._leave_dumps(original_node, updated_node)
        if name == "json.loads":
            return self._leave_loads(original_node, updated_node)
        if name in STARLETTE_RESPONSE:
            return self._leave_response(original_node, updated_node)
        if name in JSON_RESPONSE:
            return self._leave_json_response(original_node, updated_node)
        return self._leave_offload(original_node, updated_node, name)


CODEMODS = (Serializer,)
