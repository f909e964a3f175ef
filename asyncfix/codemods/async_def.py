"""Family `async_def` (AF6xx): `async def` functions that never await.

Turning one into a `def` changes every caller: `await f()` must become `f()` across the
project, in files rewritten in parallel. So the decision is made once, in the plan phase,
on the whole project, and only when every use of the function is a plain awaited call that
the plan has seen. Files are planned before any family rewrites them, so a function whose
body holds anything another family might turn into an await is never a candidate.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import FunctionScope, GlobalScope, MetadataWrapper, ScopeProvider

from asyncfix.codemods.base import (
    AsyncfixCodemod,
    FileRun,
    Rule,
    SourceView,
)
from asyncfix.codemods.helpers import lifecycle_functions
from asyncfix.config import Config, ConfigError
from asyncfix.data import coroutines as table
from asyncfix.files import SourceFile
from asyncfix.index import (
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    children,
    identifier_bytes,
    index_module,
)
from asyncfix.suppressions import suppressions_for

AF601 = Rule(
    code="AF601",
    name="async-without-await",
    summary="async def that never awaits -> def, and `await f()` -> `f()` everywhere",
    why=(
        "An async def that never awaits pays for a coroutine object and an event-loop "
        "round trip on every call, and tells readers it does I/O when it does not. "
        "Not for FastAPI: a path operation, dependency, lifespan or event handler declared "
        "`def` is sent to the thread pool, so there an async def without I/O is the faster "
        "form; asyncfix leaves those alone."
    ),
    fix=(
        "`async def` becomes `def` and every `await f(...)` in the project becomes "
        "`f(...)`, in one plan across files: only when every use of the function is such "
        "a call (not passed as a callback, stored, scheduled or patched by name), its name "
        "is private (public names too with `[tool.asyncfix.async_def] closed-world = "
        "true`), it is not decorated (staticmethod and classmethod are fine), overrides "
        "and is overridden by nothing, is not a pytest test, and its body calls only "
        "builtins and plain str/list/dict methods (a function calling anything else "
        "may block, which no def cures, or become awaited after another fix: left "
        "alone). Otherwise a finding says why."
    ),
    before=(
        "async def _greeting(name):\n"
        '    return f"Hello, {name.title()}"\n'
        "\n"
        "\n"
        "async def welcome(user, send):\n"
        "    await send(await _greeting(user.name))\n"
    ),
    after=(
        "def _greeting(name):\n"
        '    return f"Hello, {name.title()}"\n'
        "\n"
        "\n"
        "async def welcome(user, send):\n"
        "    await send(_greeting(user.name))\n"
    ),
)

_OPTIONS = {"closed-world": bool}

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
_FRAMEWORK = "__framework__"
SAFE_DECORATORS = frozenset({"staticmethod", "classmethod"})
# Decorators and registrations under which FastAPI (or Starlette) calls the function:
# there an async def without I/O is the right form, so they are skipped without a finding.
_FRAMEWORK_DECORATORS = frozenset(
    {
        "get", "post", "put", "delete", "patch", "options", "head", "trace", "api_route",
        "websocket", "route", "middleware", "exception_handler", "on_event",
        "websocket_route",
    }
)  # fmt: skip
_FRAMEWORK_CALLS = frozenset(
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
class _Target:
    """One never-awaiting async def and what the project does with it."""

    info: FunctionInfo
    module: ModuleInfo
    node: ast.AsyncFunctionDef | None  # None when the index alone has silenced it
    owner_lines: list[int] = field(default_factory=list)  # its class's and class decorator's
    defined_twice: set[str] = field(default_factory=set)  # of its module (see _Outline)
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


class _Walked:
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
        # Of the imports, only a star import can be a use (see _Planner._use).
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


_FRAMEWORK_WORDS = tuple(name.encode() for name in sorted(_FRAMEWORK_CALLS))


def _may_name_framework(data: bytes) -> bool:
    """Can a use in this source be a framework's (`_framework_use`) or a suppressed call
    site? Not without the name of a framework call or a suppression comment (identifiers
    are read in NFKC: non-ASCII ones could spell one)."""
    if b"asyncfix:" in data:
        return True
    text = identifier_bytes(data)
    return any(word in text for word in _FRAMEWORK_WORDS)


class _Outline:
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


def _class_defs(tree: ast.Module) -> list[tuple[str, list[ast.expr], list[str]]]:
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


def _site_lines(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> list[int]:
    """The line of a use and of the first line of its statement (where comments count)."""
    lines = [getattr(node, "lineno", 1)]
    current: ast.AST | None = node
    while current is not None and not isinstance(current, ast.stmt):
        current = parents.get(current)
    if current is not None:
        lines.append(current.lineno)
    return lines


def _is_stub(node: ast.AsyncFunctionDef) -> bool:
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


def _in_tests(path: str) -> bool:
    filename = Path(path).name
    in_tests = filename.startswith("test_") or filename.endswith("_test.py")
    return in_tests or filename == "conftest.py"


def _is_test(module: ModuleInfo, info: FunctionInfo) -> bool:
    return _in_tests(module.path) and info.name.startswith("test")


def _surely_unsafe_call(node: ast.AST) -> bool:
    """A call `_unsafe_call` names whatever the module imports: neither a builtin it may
    let through nor a method of SAFE_METHODS."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id not in SAFE_BUILTINS
    return not (isinstance(func, ast.Attribute) and func.attr in SAFE_METHODS)


def _surely_unsafe(calls: Iterable[str], safe_methods: frozenset[str]) -> bool:
    """Is one of the index's calls of a body (resolved, and only some of those
    `_unsafe_call` looks at) one that `_unsafe_call` would name? Dotless, it is a name
    that is no safe builtin or is imported as one; dotted, an imported or module-level
    name, or an attribute chain whose method is not safe."""
    for call in calls:
        _, dot, last = call.rpartition(".")
        if (not dot and call not in SAFE_BUILTINS) or (dot and last not in safe_methods):
            return True
    return False


def _unsafe_call(
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


class _Planner:
    """Decides, on the original code of the whole project, which functions to convert."""

    def __init__(
        self, index: ProjectIndex, config: Config, project: _Planner | None = None
    ) -> None:
        """`project`: the plan of the whole project when this one is for one of its files,
        whose walks (and suppressions) it reuses rather than makes again."""
        self.index = index
        self.config = config
        self.closed_world = closed_world(config)
        self.config = config
        # A "pure" method name that is also a coroutine method somewhere (Redis.append,
        # a project's own `async def join`) may be awaited by AF501: not safe.
        coroutine_methods = {
            name
            for kinds in table.CLASSES.values()
            for kind in ("coroutine", "future")
            for name in kinds[kind]
        }
        for module in index.modules(b"async def"):
            coroutine_methods.update(f.name for f in module.functions.values() if f.is_async)
        self.safe_methods = SAFE_METHODS - coroutine_methods
        self._suppressions: dict[str, dict[int, frozenset[str] | None]] = (
            project._suppressions if project else {}
        )
        self._walked: dict[str, _Walked] = project._walked if project else {}
        # A module's candidates are the same in a one-file plan: so is its outline.
        self._outlines: dict[str, _Outline] = project._outlines if project else {}
        self._classes: dict[str, list[tuple[str, list[ast.expr], list[str]]]] = (
            project._classes if project else {}
        )
        from asyncfix.codemods import resolve_selection  # the registry imports this module

        self.af501 = "AF501" in resolve_selection(config.select, config.ignore)

    def targets(self) -> list[_Target]:
        found: list[_Target] = []
        for module in self.index.modules(b"async def"):
            candidates = []
            for info in module.functions.values():
                if not info.is_async or info.awaits or info.yields:
                    continue
                if "<locals>" in info.qualname:
                    continue  # nested: its uses are local, but so is the gain
                depth = info.qualname.removeprefix(module.name + ".").count(".")
                if depth > (1 if info.class_name else 0):
                    continue  # a method of a nested class
                candidates.append(info)
            if not candidates:
                continue  # the common case: every async def awaits; no walk
            # Most are silenced by what the index knows (see _silent): no tree for those.
            judged = {i.qualname for i in candidates if not self._silent(module, i)}
            if judged and module.path not in self._outlines:
                positions = {(info.line, info.column) for info in candidates}
                self._outlines[module.path] = _Outline(module.tree, positions)
            for info in candidates:
                if info.qualname not in judged:
                    found.append(_Target(info, module, None, silent=True))
                    continue
                outline = self._outlines[module.path]
                place = outline.async_defs.get((info.line, info.column))
                if place is not None:
                    node, owner_lines = place
                    found.append(_Target(info, module, node, owner_lines, outline.defined_twice))
        return found

    def _silent(self, module: ModuleInfo, info: FunctionInfo) -> bool:
        """Is it skipped without a finding on what the index knows, whatever its tree
        says? (Like the skips of _judge, these come before any finding: the order of the
        two does not matter.)"""
        name = info.name
        return (
            (name.startswith("__") and name.endswith("__"))  # its callers are the runtime
            or _is_test(module, info)
            or self.config.in_test_code(module.path)
            or any(d.startswith("pytest.") for d in info.decorators)
            or any(d.rsplit(".", 1)[-1] in _FRAMEWORK_DECORATORS for d in info.decorators)
            or _surely_unsafe(info.calls, self.safe_methods)  # see _unsafe_call in _judge
        )

    def plan(self) -> dict[str, Any]:
        targets = self.targets()
        judged = [t for t in targets if not t.silent]
        self._holders = self._modules_naming({t.info.name for t in judged})
        # The other classes' methods only matter to a finding no earlier one pre-empts.
        methods = [t for t in judged if t.info.class_name and not self._refused_anyway(t)]
        classes = self._class_methods({t.info.name for t in methods})
        checked = [t for t in judged if self._precheck(t)]
        uses = self._find_uses(checked, keep={t.module.path for t in targets})
        for target, problems in zip(checked, uses, strict=True):
            self._judge(target, classes, problems)
            self._judge_files(target)
        plans: dict[str, Any] = {}
        for target in targets:
            entry = plans.setdefault(target.module.path, _empty_plan())
            if target.silent:
                continue
            if target.reason is not None:
                entry["refuse"][target.key] = target.reason
                continue
            entry["convert"].append(target.key)
            for path, names in target.sites.items():
                site = plans.setdefault(path, _empty_plan())
                for name in sorted(names):
                    dropped = name.startswith("!")
                    name = name.removeprefix("!")
                    if name.startswith("self."):
                        key = "dropped_methods" if dropped else "methods"
                        site[key].append([target.info.class_name, name[5:]])
                    else:
                        site["dropped" if dropped else "names"].append(name)
        return plans

    def _modules_naming(self, names: set[str]) -> dict[str, list[ModuleInfo]]:
        """name -> the modules whose source holds it as a word: one pass over the project."""
        holders: dict[str, list[ModuleInfo]] = {}
        for info, found in self.index.naming(names):
            for name in sorted(found):
                holders.setdefault(name, []).append(info)
        return holders

    def _suppressed(
        self, module: ModuleInfo, lines: Iterable[int], *, with_af501: bool = False
    ) -> bool:
        """`# asyncfix: ignore` for AF601 (or AF501) on one of `lines` of `module`."""
        if module.path not in self._suppressions:
            data = self.index.data(module.file) or b""
            text = data.decode("utf-8", "replace")
            self._suppressions[module.path] = suppressions_for(text, module.path, self.config)
        found = self._suppressions[module.path]
        for line in lines:
            if line in found:
                selectors = found[line]
                if selectors is None or any(
                    AF601.code.startswith(s)
                    or s == "async_def"
                    or (with_af501 and ("AF501".startswith(s) or s == "awaits"))
                    for s in selectors
                ):
                    return True
        return False

    def _class_methods(self, names: set[str]) -> dict[str, list[tuple[str, list[ast.expr]]]]:
        """method name -> [(class qualname, its bases)] over the project, for `names`."""
        found: dict[str, list[tuple[str, list[ast.expr]]]] = {}
        if not names:
            return found
        # A class defining one of them names it in its source (`_modules_naming`), and
        # the index knows its method (a def whose enclosing scope is a class).
        holders = {m.path: m for name in names for m in self._holders.get(name, [])}
        for file in self.index.files:
            module = holders.get(file.display)
            data = self.index.data(file) if module is not None else None
            if module is None or data is None or b"class " not in data:
                continue
            if not any(f.class_name and f.name in names for f in module.functions.values()):
                continue
            if module.path not in self._classes:
                self._classes[module.path] = _class_defs(module.tree)
            for class_name, bases, methods in self._classes[module.path]:
                for method in (m for m in methods if m in names):
                    qualname = f"{module.name}.{class_name}"
                    found.setdefault(method, []).append((qualname, bases))
        return found

    def _precheck(self, target: _Target) -> bool:
        """False (and the target skipped) when no use can change what happens to it."""
        # Protocol methods, tests and framework functions were skipped already (_silent).
        node = target.node
        assert node is not None  # only targets with a tree are judged
        # The lines `report()` looks at: the def's, its first decorator's and, for a
        # method, its class's (the enclosing statement).
        lines = [node.lineno, *(d.lineno for d in node.decorator_list[:1]), *target.owner_lines]
        if self._suppressed(target.module, lines):
            target.skip()  # neither the fix nor the finding, nor any call site
        elif _is_stub(node):
            target.skip()  # an interface to implement, not a function to convert
        elif _unsafe_call(target.module, node, self.safe_methods) is not None:
            # It calls something that may block or become awaited after other fixes:
            # whether it blocks is the other families' finding, and no def would help.
            target.skip()
        return not target.silent

    def _judge(
        self,
        target: _Target,
        classes: Mapping[str, list[tuple[str, list[ast.expr]]]],
        problems: list[str],
    ) -> None:
        """The verdict on a target `_precheck` passed, with its uses' `problems`."""
        info, node = target.info, target.node
        assert node is not None
        name = info.name
        if _FRAMEWORK in problems:
            return target.skip()
        if self._defined_twice(target):
            target.refuse(
                f"{target.key} is defined more than once (conditionally?): the call sites "
                "cannot tell which one they call"
            )
        for decorator, written in zip(info.decorators, node.decorator_list, strict=True):
            if decorator not in SAFE_DECORATORS:
                target.refuse(
                    f"decorated with @{ast.unparse(written)}: the decorator may rely on a "
                    "coroutine function"
                )
        if not name.startswith("_") and not self.closed_world:
            target.refuse(
                "public name: code outside the project may await it "
                "(set `[tool.asyncfix.async_def] closed-world = true` if there is none)"
            )
        if info.class_name is not None:
            self._judge_method(target, classes)
        for problem in problems:
            target.refuse(problem)
        return None

    def _judge_files(self, target: _Target) -> None:
        """A conversion changes its call sites too: refused when one is in a file the run
        must not change (only some of the project's files were given)."""
        if self.index.outside(target.module.path):
            return target.refuse("its module is not among the files given")
        for path in sorted(target.sites):
            if self.index.outside(path):
                return target.refuse(
                    f"{path} awaits it and is not among the files given: run asyncfix on "
                    "both files (or the whole project) to convert it"
                )
        return None

    def walked(self, module: ModuleInfo) -> _Walked:
        if module.path not in self._walked:
            self._walked[module.path] = _Walked(module.tree)
        return self._walked[module.path]

    def _defined_twice(self, target: _Target) -> bool:
        """Two defs (or classes) under one qualified name: `if ...: async def f` / `else:`."""
        twice = target.defined_twice
        owner = target.key.rpartition(".")[0]
        return target.key in twice or (bool(owner) and owner in twice)

    def _judge_method(
        self, target: _Target, classes: Mapping[str, list[tuple[str, list[ast.expr]]]]
    ) -> None:
        owner = target.info.qualname.rsplit(".", 1)[0]
        definitions = classes.get(target.info.name, [])
        for qualname, bases in definitions:
            if qualname == owner:
                named = [b for b in bases if not (isinstance(b, ast.Name) and b.id == "object")]
                if named:
                    target.refuse(
                        f"its class derives from {ast.unparse(named[0])}: it may override "
                        "an async method callers await"
                    )
            else:
                target.refuse(
                    f"class {qualname.rsplit('.', 1)[-1]} also defines {target.info.name}(): "
                    "an override or an "
                    "overridden method must stay async for callers that await it"
                )

    # -- uses ------------------------------------------------------------------------------

    def _aliases(self, target: _Target) -> set[str]:
        """Qualified names under which the project can reach the function (re-exports)."""
        aliases = {target.info.qualname}
        changed = True
        modules = self._holders.get(target.info.name, [])
        while changed:
            changed = False
            for module in modules:
                for local, qualified in module.imports.items():
                    alias = f"{module.name}.{local}"
                    if qualified in aliases and alias not in aliases:
                        aliases.add(alias)
                        changed = True
        return aliases

    def _refused_anyway(self, target: _Target) -> bool:
        """Will _judge refuse it whatever its uses are (a finding before theirs)?"""
        info = target.info
        public = not info.name.startswith("_") and not self.closed_world
        unsafe_decorator = any(d not in SAFE_DECORATORS for d in info.decorators)
        return public or unsafe_decorator or self._defined_twice(target)

    def _find_uses(self, targets: Sequence[_Target], keep: Collection[str]) -> list[list[str]]:
        """For each target, why some use is not a plain awaited call ([] when every use is
        one). A target refused anyway needs only whether one is a framework's (or a
        suppressed call), which modules naming no framework call and holding no
        suppression cannot have. Module by module, in the index's order (each target
        meets its modules in the same order as alone): a module is walked once for all
        the targets whose name it holds, and its walk, which keeps the whole tree, goes
        when they are done with it unless its path is in `keep`."""
        wanting: dict[str, list[int]] = {}
        modules: dict[str, ModuleInfo] = {}
        for i, target in enumerate(targets):
            for module in self._holders.get(target.info.name, []):
                wanting.setdefault(module.path, []).append(i)
                modules[module.path] = module
        framework_only = [self._refused_anyway(t) for t in targets]
        words = [re.compile(rf"\b{re.escape(t.info.name)}\b") for t in targets]
        aliases = [self._aliases(t) if t.info.class_name is None else set() for t in targets]
        problems: list[list[str]] = [[] for _ in targets]
        framework = [False] * len(targets)
        for file in self.index.files:
            if file.display not in wanting:
                continue
            module = modules[file.display]
            # (a search of the whole source: once per module, not per target)
            may_name_framework = _may_name_framework(module.data)
            for i in wanting[file.display]:
                target = targets[i]
                if framework[i] or (framework_only[i] and not may_name_framework):
                    continue
                walked = self.walked(module)
                # Only nodes spelling the name (or an import alias of it) can be uses.
                spelled = {
                    target.info.name,
                    *(local for local, q in module.imports.items() if q in aliases[i]),
                }
                for node in walked.candidates(spelled, target.info.name, words[i]):
                    problem = self._use(target, module, node, walked.parents, words[i], aliases[i])
                    if problem == _FRAMEWORK:
                        framework[i] = True
                        break
                    if problem is not None:
                        where = f"{module.path}:{getattr(node, 'lineno', 1)}"
                        problems[i].append(f"{problem} at {where}")
            if file.display not in keep:
                self._walked.pop(file.display, None)
        return [
            [_FRAMEWORK] if framework[i] else [] if framework_only[i] else problems[i][:1]
            for i in range(len(targets))
        ]

    def _use(
        self,
        target: _Target,
        module: ModuleInfo,
        node: ast.AST,
        parents: Mapping[ast.AST, ast.AST],
        word: re.Pattern[str],
        aliases: set[str],
    ) -> str | None:
        """A reason when `node` uses the function other than as `await f(...)`."""
        name = target.info.name
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if word.search(node.value):
                return "its name appears in a string (mock.patch, getattr, __all__?)"
            return None
        if isinstance(node, ast.ImportFrom) and target.info.class_name is None:
            if any(a.name == "*" for a in node.names) and not name.startswith("_"):
                return "a star import may bring it in under its own name"
            return None
        if target.info.class_name is not None:
            return self._method_use(target, module, node, parents)
        if isinstance(node, ast.Name):
            local = module.name == target.module.name and node.id == name
            imported = module.imports.get(node.id) in aliases
            if not (local or imported):
                candidates = module.ambiguous.get(node.id, ())
                if target.module.path in candidates:
                    return (
                        f"`{node.id}` may be this function or another, its module being one "
                        f"of {', '.join(candidates)} (same-named modules)"
                    )
                return None
            spelled = node.id
        elif isinstance(node, ast.Attribute) and node.attr == name:
            resolved = module.resolve(node)
            if resolved not in aliases:
                head: ast.expr = node.value
                while isinstance(head, ast.Attribute):
                    head = head.value
                if isinstance(head, ast.Name) and head.id in module.imports:
                    return None  # an attribute of another module
                return f"`{ast.unparse(node)}` may refer to it"
            spelled = ast.unparse(node)
        else:
            return None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            return "the name is rebound"
        if self._awaited_call(node, parents):
            if self._suppressed(module, _site_lines(node, parents)):
                return _FRAMEWORK  # a call site kept as it is: so must the function be
            if self._in_lifecycle(module, node, parents):
                # Awaited by a lifespan or startup handler (AF301 writes such calls): it
                # runs once, so a def gains nothing, as for a handler FastAPI calls itself.
                return _FRAMEWORK
            target.sites.setdefault(module.path, set()).add(spelled)
            return None
        if self._dropped_call(node, parents):
            # AF501 would await it; as a def the call simply runs (see ForgottenAwait).
            if self._suppressed(module, _site_lines(node, parents), with_af501=True):
                return _FRAMEWORK
            target.sites.setdefault(module.path, set()).add(f"!{spelled}")
            return None
        if isinstance(node, ast.Name) and node.id in self.walked(module).lifecycle:
            return _FRAMEWORK  # registered as a startup/shutdown handler (on_startup=[f])
        return self._framework_use(node, parents) or (
            "used other than as a direct awaited call (passed, stored, scheduled or returned)"
        )

    def _dropped_call(self, node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> bool:
        """`f(...)` as a statement of an async def, which AF501 awaits when it is selected."""
        if not self.af501:
            return False
        call = parents.get(node)
        statement = parents.get(call) if call is not None else None
        if not (
            isinstance(call, ast.Call) and call.func is node and isinstance(statement, ast.Expr)
        ):
            return False
        current = parents.get(statement)
        while current is not None and not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            current = parents.get(current)
        return isinstance(current, ast.AsyncFunctionDef)

    def _in_lifecycle(
        self, module: ModuleInfo, node: ast.AST, parents: Mapping[ast.AST, ast.AST]
    ) -> bool:
        """Is `node` in the body of one of the module's startup/shutdown functions?"""
        function = parents.get(node)
        while function is not None and not isinstance(
            function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            function = parents.get(function)
        return (
            isinstance(function, ast.AsyncFunctionDef)
            and isinstance(parents.get(function), ast.Module)
            and function.name in self.walked(module).lifecycle
        )

    @staticmethod
    def _awaited_call(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> bool:
        call = parents.get(node)
        awaited = parents.get(call) if call is not None else None
        return (
            isinstance(call, ast.Call)
            and call.func is node
            and isinstance(awaited, ast.Await)
            and awaited.value is call
        )

    def _framework_use(self, node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> str | None:
        parent = parents.get(node)
        if isinstance(parent, ast.keyword):
            parent = parents.get(parent)
        if isinstance(parent, ast.Call):
            func = parent.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in _FRAMEWORK_CALLS:
                return _FRAMEWORK
        return None

    def _method_use(
        self,
        target: _Target,
        module: ModuleInfo,
        node: ast.AST,
        parents: Mapping[ast.AST, ast.AST],
    ) -> str | None:
        name = target.info.name
        if isinstance(node, ast.Name) and node.id == name and module is target.module:
            return "the name is used other than as a method"
        if not (isinstance(node, ast.Attribute) and node.attr == name):
            return None
        spelled = ast.unparse(node)
        dropped = self._dropped_call(node, parents)
        if not self._awaited_call(node, parents) and not dropped:
            return self._framework_use(node, parents) or (
                f"`{spelled}` is used other than as a direct awaited call"
            )
        method = self._enclosing_method(node, parents)
        owner_ok = (
            module.path == target.module.path
            and method is not None
            and isinstance(node.value, ast.Name)
            and method[1] == node.value.id
            and method[0] == target.info.class_name
        )
        if not owner_ok:
            return f"`{spelled}` is called on an object asyncfix cannot tie to its class"
        if self._suppressed(module, _site_lines(node, parents), with_af501=dropped):
            return _FRAMEWORK  # a call site kept as it is: so must the function be
        target.sites.setdefault(module.path, set()).add(f"{'!' if dropped else ''}self.{name}")
        return None

    @staticmethod
    def _enclosing_method(
        node: ast.AST, parents: Mapping[ast.AST, ast.AST]
    ) -> tuple[str, str] | None:
        """(class name, first parameter) of the top-level class method containing node."""
        current = parents.get(node)
        while current is not None and not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            current = parents.get(current)
        if not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            return None
        owner = parents.get(current)
        if not isinstance(owner, ast.ClassDef) or not isinstance(parents.get(owner), ast.Module):
            return None
        if any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in current.decorator_list):
            return None
        args = current.args.posonlyargs + current.args.args
        return (owner.name, args[0].arg) if args else None


class _OneFileIndex(ProjectIndex):
    """The index of one file, from bytes in memory: a file processed on its own (with
    `module`, the facts the project's index already holds for it)."""

    def __init__(self, file: SourceFile, data: bytes, module: ModuleInfo | None = None) -> None:
        super().__init__([file])
        self._bytes = data
        if module is not None:
            self._modules[file.display] = module

    def data(self, file: SourceFile) -> bytes | None:
        return self._bytes


def _empty_plan() -> dict[str, Any]:
    # names/methods: `await f()` sites to un-await; dropped/dropped_methods: `f()`
    # statements that stay as they are, and that AF501 must therefore not await.
    return {
        "convert": [],
        "refuse": {},
        "names": [],
        "methods": [],
        "dropped": [],
        "dropped_methods": [],
    }


def planned_for(run: FileRun) -> Mapping[str, Any]:
    """AF601's instructions for the file of `run`, planned or decided from the file alone."""
    plan: Mapping[str, Any] | None = run.plans.get(AsyncWithoutAwait.NAME)
    if plan is None:
        file = SourceFile(Path(run.path), run.path)
        plan = _local_plan(file, run.bytes_of(run.original), run.config, tree=run.syntax_tree())
    return plan


# The prescreen and then the transform ask for the same file's plan: the last few are kept.
_LOCAL_PLANS: dict[tuple[Any, ...], dict[str, Any]] = {}


def _local_plan(
    file: SourceFile,
    data: bytes,
    config: Config,
    project: _Planner | None = None,
    module: ModuleInfo | None = None,
    tree: ast.Module | None = None,
) -> dict[str, Any]:
    """The plan for one file as if it were the whole project (do not modify it). In the
    plan phase, `project` and `module` (the file's facts) save walking it again; `tree`,
    the stdlib ast of `data` when the caller has it, often saves indexing the file and
    else parsing it again."""
    if b"async def" not in data:
        return _empty_plan()
    if tree is not None and not _may_judge(tree, file.display):
        return _empty_plan()  # every target is skipped without a word: nothing to plan
    tests = (config.tests, config.test_paths)
    key = (file.display, data, closed_world(config), config.select, config.ignore, tests)
    if key not in _LOCAL_PLANS:
        if len(_LOCAL_PLANS) >= 16:
            _LOCAL_PLANS.clear()
        if module is None and tree is not None:
            module = index_module(file, data, tree)  # the caller's ast: not parsed again
        plan = _Planner(_OneFileIndex(file, data, module), config, project).plan()
        _LOCAL_PLANS[key] = plan.get(file.display, _empty_plan())
    return _LOCAL_PLANS[key]


def _may_judge(tree: ast.Module, path: str) -> bool:
    """Is there an async def outside functions that the plan of this file alone may judge
    rather than skip silently? Not one that awaits or yields (it is no target), nor one
    `_judge` skips for its name or for a call `_unsafe_call` names whatever the imports."""
    todo: list[ast.AST] = list(tree.body)  # the statements outside functions
    while todo:
        node = todo.pop()
        if isinstance(node, ast.AsyncFunctionDef):
            name = node.name
            if (
                not _awaits_or_yields(node)
                and not (name.startswith("__") and name.endswith("__"))
                and not (_in_tests(path) and name.startswith("test"))
                and not any(_surely_unsafe_call(n) for n in ast.walk(node) if n is not node)
            ):
                return True
        elif isinstance(node, ast.ClassDef):
            todo.extend(node.body)
        elif not isinstance(node, ast.FunctionDef):
            for child in children(node):  # the blocks of if/try/with/...
                if isinstance(child, ast.stmt):
                    todo.append(child)
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    todo.extend(child.body)
    return False


def _awaits_or_yields(function: ast.AsyncFunctionDef) -> bool:
    """FunctionInfo.awaits or .yields, from the tree: its own body, with the decorators
    of nested functions (evaluated there) but not their bodies, lambdas or classes."""
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith | ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.comprehension) and node.is_async:
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo.extend(node.decorator_list)
        elif not isinstance(node, ast.Lambda | ast.ClassDef):
            todo += children(node)
    return False


def _wanted(plan: Mapping[str, Any]) -> bool:
    """Does a plan entry make the transformer change or report anything?"""
    return bool(plan["convert"] or plan["refuse"] or plan["names"] or plan["methods"])


def _awaits_in(node: cst.FunctionDef) -> bool:
    """Does the function's own body await (nested defs and lambdas aside)?"""
    finder = _AwaitFinder()
    node.body.visit(finder)
    return finder.found


class _AwaitFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Await(self, node: cst.Await) -> bool:
        self.found = True
        return False

    def visit_For(self, node: cst.For) -> None:
        self.found = self.found or node.asynchronous is not None

    def visit_With(self, node: cst.With) -> None:
        self.found = self.found or node.asynchronous is not None

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.found = self.found or node.asynchronous is not None

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True


class AsyncWithoutAwait(AsyncfixCodemod):
    NAME = "async-without-await"
    FAMILY = "async_def"
    RULES = (AF601,)
    # In test code it converts no def (see _Planner._silent), but un-awaits the calls of
    # those it converts elsewhere: the tests must follow, or they would await a plain value.
    IN_TESTS = True
    AFTER = ("*", "awaits", "db_session")  # last: its re-check sees every other rewrite
    TRIGGERS = (b"async def",)
    PLAN_COST = 0.32
    INDEXES = (b"async def",)  # the candidates
    METADATA_DEPENDENCIES = (ScopeProvider,)

    @classmethod
    def check_config(cls, config: Config) -> None:
        closed_world(config)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        # A file is planned only where the project changes its verdict: what the file alone
        # decides, the transformer decides again (see `_local_plan`), and such a file stays
        # cacheable.
        planner = _Planner(index, config)
        project = planner.plan()
        files = {f.display: f for f in index.files}
        planned: dict[str, Any] = {}
        for path, entry in project.items():
            data = index.data(files[path]) if path in files else None
            if data is None:
                planned[path] = entry
                continue
            alone = _local_plan(files[path], data, config, planner, index.module(files[path]))
            if entry != alone:
                planned[path] = entry
        return planned

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Everything it does is in the plan for the file, or what the file alone decides.
        plan = view.plans.get(cls.NAME)
        if plan is None:
            file = SourceFile(Path(view.path), view.path)
            plan = _local_plan(file, view.source, view.config, tree=view.tree)
        return _wanted(plan)

    def transform(self, module: cst.Module) -> cst.Module:
        # Not planned: what this file's ORIGINAL code decides on its own, exactly what the
        # plan phase compared against (or, without a plan phase, the file alone).
        plan = planned_for(self.run)
        self.plan_data: Mapping[str, Any] = plan
        if not _wanted(plan):
            return module
        self.class_stack: list[str] = []
        self.function_stack: list[cst.FunctionDef] = []
        return super().transform(module)

    @contextmanager
    def resolve(self, wrapper: MetadataWrapper) -> Iterator[None]:
        # Scopes only tell the call sites to un-await (`_planned_site`): a file with none,
        # where only definitions are converted or reported, skips the scope analysis.
        if self.plan_data["names"] or self.plan_data["methods"]:
            with super().resolve(wrapper):
                yield
        else:
            yield

    # -- definitions ---------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_stack.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.class_stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.function_stack.append(node)
        # Without call sites to un-await, nothing inside a function is ever changed or
        # reported (a nested def is no target): its body need not be walked.
        return bool(self.plan_data["names"] or self.plan_data["methods"])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.function_stack.pop()
        key = self._key(original_node)
        if key is None or original_node.asynchronous is None:
            return updated_node
        message = f"async def {original_node.name.value}() never awaits"
        reason = self.plan_data["refuse"].get(key)
        if reason is not None:
            if not _awaits_in(updated_node):  # else another fix made it await: resolved
                self.report(original_node.name, "AF601", message, reason=reason)
            return updated_node
        if key not in self.plan_data["convert"]:
            return updated_node
        if _awaits_in(updated_node):
            # The plan ruled this out; should it happen, converting would break the code.
            self.report(
                original_node.name,
                "AF601",
                message,
                reason="it awaits after the other fixes; callers in other files may have "
                "been changed: please report this",
            )
            return updated_node
        if not self.report(original_node.name, "AF601", message + "; make it a def"):
            return updated_node
        return updated_node.with_changes(asynchronous=None)

    def _key(self, node: cst.FunctionDef) -> str | None:
        # A top-level function, or a method of a top-level class.
        if len(self.function_stack) != 0:
            return None
        if len(self.class_stack) > 1:
            return None
        return ".".join([*self.class_stack, node.name.value])

    # -- call sites ----------------------------------------------------------------------

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.BaseExpression:
        call = original_node.expression
        if not isinstance(call, cst.Call) or not self._planned_site(call):
            return updated_node
        inner = updated_node.expression
        assert isinstance(inner, cst.Call)
        # The await's own parentheses stay around the call.
        return inner.with_changes(
            lpar=[*updated_node.lpar, *inner.lpar], rpar=[*inner.rpar, *updated_node.rpar]
        )

    def _planned_site(self, call: cst.Call) -> bool:
        dotted = get_full_name_for_node(call.func)
        if dotted is None:
            return False
        if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name):
            receiver = call.func.value
            for class_name, method in self.plan_data["methods"]:
                if call.func.attr.value == method and self._is_self_of(receiver, class_name):
                    return True
        if dotted not in self.plan_data["names"]:
            return False
        head: cst.BaseExpression = call.func
        while isinstance(head, cst.Attribute):
            head = head.value
        scope = self.get_metadata(ScopeProvider, head, None)
        if scope is None or not isinstance(head, cst.Name):
            return False
        # The name must mean the module-level binding, not a local one.
        return all(isinstance(a.scope, GlobalScope) for a in scope[head.value])

    def _is_self_of(self, name: cst.Name, class_name: str) -> bool:
        if len(self.class_stack) != 1 or self.class_stack[0] != class_name:
            return False
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return False
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, FunctionScope):
            return False
        function = assignments[0].scope.node
        if not isinstance(function, cst.FunctionDef) or function not in _methods_of_stack(
            self.function_stack
        ):
            return False
        params = function.params.params
        return bool(params) and params[0].name.value == name.value


def _methods_of_stack(stack: Iterable[cst.FunctionDef]) -> list[cst.FunctionDef]:
    return list(stack)[:1]


CODEMODS = (AsyncWithoutAwait,)
