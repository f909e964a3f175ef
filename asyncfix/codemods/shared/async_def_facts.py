"""What the async_def plan reads in a module: its options, the candidates (`Target`),
one walk of each module, its outline, and the calls that rule a candidate out.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from asyncfix.codemods.shared.lifecycle import lifecycle_functions
from asyncfix.config import Config, ConfigError
from asyncfix.index import (
    FunctionInfo,
    ModuleInfo,
    identifier_bytes,
)

if TYPE_CHECKING:
    import libcst as cst

_OPTIONS = {"closed-world": bool}
# What a file holds when it may define a candidate: AF601's trigger, what its plan indexes.
ASYNC_DEF = b"async def"

# Calls that no family rewrites into an await and that cannot block.
SAFE_BUILTINS = frozenset(
    {
        "abs", "all", "any", "bool", "bytes", "callable", "chr", "dict", "divmod",
        "enumerate", "float", "format", "frozenset", "hash", "id", "int", "isinstance",
        "issubclass", "len", "list", "max", "min", "ord", "range", "repr", "reversed",
        "round", "set", "slice", "sorted", "str", "sum", "tuple", "type", "zip",
        "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError",
        "KeyError", "LookupError", "NotImplementedError", "RuntimeError", "TypeError",
        "ValueError",
    }
)  # fmt: skip
SAFE_METHODS = frozenset(
    {
        "append", "capitalize", "casefold", "center", "endswith", "extend", "format",
        "isalnum", "isalpha", "isdigit", "islower", "isspace", "isupper", "items", "join",
        "keys", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
        "replace", "rjust", "rpartition", "rsplit", "rstrip", "setdefault", "split", "splitlines",
        "startswith", "strip", "swapcase", "title", "upper", "values", "zfill",
    }
)  # fmt: skip
# A use by FastAPI/Starlette, or a suppressed call site: skip without a finding.
FRAMEWORK = "__framework__"
SAFE_DECORATORS = frozenset({"staticmethod", "classmethod"})
# Decorators and registrations under which FastAPI (or Starlette) calls the function:
# there an async def without I/O is the right form, so they are skipped without a finding.
FRAMEWORK_DECORATORS = frozenset(
    {
        "get", "post", "put", "delete", "patch", "options", "head", "trace", "api_route",
        "websocket", "route", "middleware", "exception_handler", "on_event",
        "websocket_route",
    }
)  # fmt: skip
FRAMEWORK_CALLS = frozenset(
    {
        "Depends", "Security", "add_api_route", "add_api_websocket_route", "add_route",
        "add_websocket_route", "add_event_handler", "add_exception_handler",
        "add_middleware", "FastAPI", "APIRouter", "Starlette", "Router",
    }
)  # fmt: skip


def closed_world(config: Config) -> bool:
    """The validated `[tool.asyncfix.async_def] closed-world` option."""
    where = f"{config.source}: " if config.source else ""
    options = config.family_options("async_def")
    for key, value in options.items():
        if key not in _OPTIONS:
            known = ", ".join(_OPTIONS)
            raise ConfigError(
                f"{where}[tool.asyncfix.async_def]: unknown key {key!r} (known: {known})"
            )
        if not isinstance(value, _OPTIONS[key]):
            raise ConfigError(
                f"{where}[tool.asyncfix.async_def] {key} must be true or false, not {value!r}"
            )
    return bool(options.get("closed-world", False))


@dataclass
class Target:
    """One never-awaiting async def and what the project does with it."""

    info: FunctionInfo
    module: ModuleInfo
    node: ast.AsyncFunctionDef | None  # None when the index alone has silenced it
    owner_lines: list[int] = field(default_factory=list)  # its class's and class decorator's
    defined_twice: set[str] = field(default_factory=set)  # of its module (see Outline)
    reason: str | None = None  # a finding; None while it is still a candidate
    silent: bool = False  # a framework function or a stub: nothing to say
    sites: dict[str, set[str]] = field(default_factory=dict)  # path -> names to un-await

    @property
    def key(self) -> str:
        """ "func" or "Class.method", relative to the module."""
        return self.info.qualname.removeprefix(self.module.name + ".")

    def refuse(self, reason: str) -> None:
        if self.reason is None and not self.silent:
            self.reason = reason

    def skip(self) -> None:
        self.silent = True
        self.reason = None


# Nodes with no child nodes that a use can be: left out of the walk (and of its order).
_NO_CHILDREN = (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)

_WORD = re.compile(r"\w+")  # what `\b` takes for a word, in a str pattern


class Walked:
    """One walk of a module, in `ast.walk` order, kept for every target the plan judges
    (and shared with the one-file plans of the same plan phase): each node's parent, and
    the nodes a use can be, by the name they spell."""

    def __init__(self, tree: ast.Module) -> None:
        self.parents: dict[ast.AST, ast.AST] = {}
        self.lifecycle = lifecycle_functions(tree)  # the module's startup/shutdown hooks
        self.names: dict[str, list[tuple[int, ast.AST]]] = {}  # Name.id / Attribute.attr
        self.strings: list[tuple[int, ast.Constant]] = []
        # The strings by the words (runs of `\w`) they hold: a lookup per target, where a
        # search of every string per target made the plan quadratic in the module's size.
        self.string_words: dict[str, list[tuple[int, ast.Constant]]] = {}
        # Of the imports, only a star import can be a use (see Uses._use).
        self.star_imports: list[tuple[int, ast.AST]] = []
        for order, node in enumerate(self._breadth_first(tree)):
            if isinstance(node, ast.Name):
                self.names.setdefault(node.id, []).append((order, node))
            elif isinstance(node, ast.Attribute):
                self.names.setdefault(node.attr, []).append((order, node))
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, str):
                    self.strings.append((order, node))
                    for word in set(_WORD.findall(node.value)):
                        self.string_words.setdefault(word, []).append((order, node))
            elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                self.star_imports.append((order, node))

    def _breadth_first(self, tree: ast.Module) -> list[ast.AST]:
        """The nodes in `ast.walk` order, filling `parents` on the way (one pass over the
        fields, where ast.walk and ast.iter_child_nodes took two generators per node)."""
        nodes: list[ast.AST] = [tree]
        parents = self.parents
        for node in nodes:  # grows while read: breadth first
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, ast.AST) and not isinstance(item, _NO_CHILDREN):
                            parents[item] = node
                            nodes.append(item)
                elif isinstance(value, ast.AST) and not isinstance(value, _NO_CHILDREN):
                    parents[value] = node
                    nodes.append(value)
        return nodes

    def candidates(self, spelled: Iterable[str], name: str, word: re.Pattern[str]) -> list[ast.AST]:
        """The nodes that can be a use of a function spelled so, in `ast.walk` order.
        `word` is `\\b<name>\\b`: a string holds it when `name` is one of its words."""
        found = [item for spelling in set(spelled) for item in self.names.get(spelling, [])]
        if _WORD.fullmatch(name):
            found += self.string_words.get(name, [])
        else:  # (a character of an identifier that `\w` does not match: search them all)
            found += [(order, node) for order, node in self.strings if word.search(str(node.value))]
        found += self.star_imports
        return [node for _, node in sorted(found, key=lambda item: item[0])]


_FRAMEWORK_WORDS = tuple(name.encode() for name in sorted(FRAMEWORK_CALLS))


def may_name_framework(data: bytes) -> bool:
    """Can a use in this source be a framework's (`_framework_use`) or a suppressed call
    site? Not without the name of a framework call or a suppression comment (identifiers
    are read in NFKC: non-ASCII ones could spell one)."""
    if b"asyncfix:" in data:
        return True
    text = identifier_bytes(data)
    return any(word in text for word in _FRAMEWORK_WORDS)


class Outline:
    """A module's statements outside functions, without their expressions: the async defs
    of `positions` (line, column) with the lines of their class, and the qualified names
    defined twice in the module's namespace (see _defined_twice)."""

    def __init__(self, tree: ast.Module, positions: set[tuple[int, int]]) -> None:
        self.async_defs: dict[tuple[int, int], tuple[ast.AsyncFunctionDef, list[int]]] = {}
        seen: list[str] = []

        def walk(body: Iterable[ast.stmt], prefix: str, parent: ast.AST) -> None:
            for stmt in body:
                if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    seen.append(prefix + stmt.name)
                    if isinstance(stmt, ast.ClassDef):
                        walk(stmt.body, f"{prefix}{stmt.name}.", stmt)
                    elif (stmt.lineno, stmt.col_offset + 1) in positions:
                        assert isinstance(stmt, ast.AsyncFunctionDef)
                        self.async_defs[(stmt.lineno, stmt.col_offset + 1)] = (
                            stmt,
                            _class_lines(parent),
                        )
                    continue
                # if/try/with/for/while/match blocks bind names in the same scope.
                for child in ast.iter_child_nodes(stmt):
                    if isinstance(child, ast.stmt):
                        walk([child], prefix, stmt)
                    elif isinstance(child, ast.ExceptHandler | ast.match_case):
                        walk(child.body, prefix, child)

        walk(tree.body, "", tree)
        self.defined_twice = {name for name, count in Counter(seen).items() if count > 1}


def _class_lines(parent: ast.AST) -> list[int]:
    """The lines `report()` looks at for a method of the class `parent`: the class's and
    its first decorator's ([] when the def's parent is not a class)."""
    if not isinstance(parent, ast.ClassDef):
        return []
    return [parent.lineno, *(d.lineno for d in parent.decorator_list[:1])]


def class_defs(tree: ast.Module) -> list[tuple[str, list[ast.expr], list[str]]]:
    """(name, bases, its own methods' names) of every class of the module, in `ast.walk`
    order: a breadth-first walk of the statements alone meets them in the same order."""
    found: list[tuple[str, list[ast.expr], list[str]]] = []
    nodes: list[ast.AST] = [tree]
    for node in nodes:  # grows while read: breadth first
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt | ast.ExceptHandler | ast.match_case):
                nodes.append(child)
        if isinstance(node, ast.ClassDef):
            methods = [
                stmt.name
                for stmt in node.body
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            found.append((node.name, node.bases, methods))
    return found


def site_lines(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> list[int]:
    """The line of a use and of the first line of its statement (where comments count)."""
    lines = [getattr(node, "lineno", 1)]
    current: ast.AST | None = node
    while current is not None and not isinstance(current, ast.stmt):
        current = parents.get(current)
    if current is not None:
        lines.append(current.lineno)
    return lines


def is_stub(node: ast.AsyncFunctionDef) -> bool:
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # `...`
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def in_test_file(path: str) -> bool:
    filename = Path(path).name
    in_tests = filename.startswith("test_") or filename.endswith("_test.py")
    return in_tests or filename == "conftest.py"


def skipped_by_name(name: str, path: str) -> bool:
    """Is an async def of this name in the module at `path` skipped without a finding,
    whatever its body? A protocol method (`__aenter__`: its callers are the runtime) or a
    pytest test."""
    dunder = name.startswith("__") and name.endswith("__")
    return dunder or (in_test_file(path) and name.startswith("test"))


def surely_unsafe_call(node: ast.AST) -> bool:
    """A call `unsafe_call` names whatever the module imports: neither a builtin it may
    let through nor a method of SAFE_METHODS."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id not in SAFE_BUILTINS
    return not (isinstance(func, ast.Attribute) and func.attr in SAFE_METHODS)


def surely_unsafe(calls: Iterable[str], safe_methods: frozenset[str]) -> bool:
    """Is one of the index's calls of a body (resolved, and only some of those
    `unsafe_call` looks at) one that `unsafe_call` would name? Dotless, it is a name
    that is no safe builtin or is imported as one; dotted, an imported or module-level
    name, or an attribute chain whose method is not safe."""
    for call in calls:
        _, dot, last = call.rpartition(".")
        if (not dot and call not in SAFE_BUILTINS) or (dot and last not in safe_methods):
            return True
    return False


def unsafe_call(
    module: ModuleInfo, node: ast.AsyncFunctionDef, safe_methods: frozenset[str]
) -> str | None:
    """The first call in the body that might block or be rewritten into an await."""
    for sub in ast.walk(node):
        if sub is node or not isinstance(sub, ast.Call):
            continue
        func = sub.func
        if isinstance(func, ast.Name):
            shadowed = func.id in module.imports or func.id in module.toplevel
            if func.id in SAFE_BUILTINS and not shadowed:
                continue
        elif isinstance(func, ast.Attribute) and isinstance(
            func.value, ast.Constant | ast.JoinedStr
        ):
            if func.attr in SAFE_METHODS:
                continue  # `", ".join(...)`: a str method, whatever else is called join
        elif isinstance(func, ast.Attribute) and func.attr in safe_methods:
            head: ast.expr = func.value
            while isinstance(head, ast.Attribute):
                head = head.value
            if not (isinstance(head, ast.Name) and head.id in module.imports):
                continue
        return ast.unparse(func)
    # Decorators and defaults of the function itself run at definition time: not here.
    return None


def awaits_in(node: cst.FunctionDef) -> bool:
    """Does the function's own body await, or yield (nested defs, lambdas and classes
    aside)? On the libcst tree: the transformers' re-check of what the plan decided. The
    plan imports no libcst (the prescreen of AF601 is the plan): this imports it when a
    transformer asks, which has loaded it already."""
    import libcst

    from asyncfix.codemods.speed.metadata import child_nodes

    todo: list[libcst.CSTNode] = [node.body]
    while todo:
        current = todo.pop()
        if isinstance(current, libcst.Await | libcst.Yield):
            return True
        if (
            isinstance(current, libcst.For | libcst.With | libcst.CompFor)
            and current.asynchronous is not None
        ):
            return True
        if not isinstance(current, libcst.FunctionDef | libcst.Lambda | libcst.ClassDef):
            todo.extend(child_nodes(current))
    return False
