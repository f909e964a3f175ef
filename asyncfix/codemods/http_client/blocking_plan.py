"""The AF205 plan: the project's own sync functions that block (directly or through each
other, across modules, found through the project index), and the calls of them in async
defs; `local_sites`, the same analysis on one module when there is no project plan."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

from asyncfix import syntax
from asyncfix.codemods.helpers import lifecycle_functions
from asyncfix.codemods.http_client.blocking_apis import (
    BLOCKING_ROOTS,
    LOOP_BOUND,
    ROOT_MODULE_STEMS,
    ROOT_TOKENS,
)
from asyncfix.codemods.http_client.screen import Callees, Lines, Shape, module_shape
from asyncfix.files import SourceFile
from asyncfix.index import (
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    children,
    index_module,
    module_name,
)

# Decorators that keep a call of the function a plain call.
_TRANSPARENT_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "functools.cache", "functools.lru_cache"}
)
# What can hold a statement (a def): statements, and the blocks of `except` and `case`.
_BLOCK_NODES = (ast.stmt, ast.excepthandler, ast.match_case)


def _async_call_sites(tree: ast.Module) -> list[tuple[str, ast.expr]]:
    """The calls in each `async def`'s own body: (its path below the module, the callee),
    defs met top-down, in field order. Only statements can hold a def, so expressions are
    not walked but in an async def's own body."""
    sites: list[tuple[str, ast.expr]] = []
    lifecycle = lifecycle_functions(tree)

    def walk(nodes: Iterable[ast.AST], names: list[str]) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                walk(node.body, [*names, node.name])
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if isinstance(node, ast.AsyncFunctionDef) and not (
                    not names and node.name in lifecycle
                ):
                    path = ".".join([*names, node.name])
                    sites.extend((path, c.func) for stmt in node.body for c in _own_calls(stmt))
                walk(node.body, [*names, node.name, "<locals>"])
            else:
                for field in node._fields:
                    value = getattr(node, field, None)
                    if isinstance(value, list):
                        walk((v for v in value if isinstance(v, _BLOCK_NODES)), names)

    walk(tree.body, [])
    return sites


def _own_calls(node: ast.AST) -> Iterable[ast.Call]:
    """Calls under `node`, not inside nested functions, lambdas or classes."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
        return
    if isinstance(node, ast.Call):
        yield node
    for child in children(node):
        yield from _own_calls(child)


def _followed(f: FunctionInfo) -> bool:
    """A plain sync function: calling it runs its body (not a generator, not decorated)."""
    return (
        not f.is_async and not f.yields and all(d in _TRANSPARENT_DECORATORS for d in f.decorators)
    )


def blocking_functions(infos: Iterable[ModuleInfo]) -> dict[str, str]:
    """qualname -> why it blocks ("slow -> time.sleep"), for the plain sync functions (not
    generators, not decorated) that call a blocking API directly or through each other.
    The chain shown is a shortest one (the first in call order among equals): round n finds
    the functions n calls away from a blocking API, whatever order the modules come in."""
    functions = [f for info in infos for f in info.functions.values() if _followed(f)]

    def chain(f: FunctionInfo, callee: str, found: Mapping[str, str]) -> str | None:
        if callee in BLOCKING_ROOTS:
            return f"{f.name} -> {callee}"
        return f"{f.name} -> {found[callee]}" if callee in found else None

    def api(f: FunctionInfo, callee: str, found: Mapping[str, str]) -> str | None:
        return callee if callee in LOOP_BOUND else found.get(callee)

    # A call made only in an `except` block (installing a missing package, say) is a
    # fallback: offloading the whole function for it would cost a thread on every call.
    found = _reached([(f, list(f.main_calls())) for f in functions], chain)
    # The except blocks count for the loop-bound APIs: they run in the thread as well.
    bound = _reached([(f, f.calls) for f in functions], api)
    return {
        name: f"{why}{USES_LOOP}{bound[name]}" if name in bound else why
        for name, why in found.items()
    }


# Joins a blocking function's chain and the loop-bound API it also reaches (see LOOP_BOUND):
# the transform reports such a call, with that API as the reason, instead of offloading it.
USES_LOOP = " | uses the event loop: "


def _reached(
    functions: list[tuple[FunctionInfo, Iterable[str]]],
    step: Callable[[FunctionInfo, str, Mapping[str, str]], str | None],
) -> dict[str, str]:
    """qualname -> what `step` says of its first callee it answers for (`found` holds the
    answers of the rounds before), round by round until a round finds nothing new. A
    qualname defined twice (same-named modules): the first def wins."""
    found: dict[str, str] = {}
    while True:
        new: dict[str, str] = {}
        for f, calls in functions:
            if f.qualname in found or f.qualname in new:
                continue
            for callee in calls:
                if (why := step(f, callee, found)) is not None:
                    new[f.qualname] = why
                    break
        if not new:
            return found
        found.update(new)


# `async def` as the tokenizer can meet it: never inside a word, blanks or line
# continuations between, and after. Its bytes are ASCII in a UTF-8 source. (The
# lookbehind comes after the literal: re then finds candidates by a fast literal scan.)
_ASYNC_DEF = re.compile(rb"async(?<!\wasync)[\s\\]+def[\s\\]")


def _may_call_blocking(info: ModuleInfo, blocking: Mapping[str, str]) -> bool:
    """Could an async def of `info` call one of `blocking` (see _async_call_sites)? Its own
    calls are among its FunctionInfo's `calls` (which add the decorators of nested defs),
    resolved the same way; but a qualname defined twice keeps only its last def's facts,
    so a module that may have lost an async def so is always walked."""
    if not blocking:
        return False
    if any(not blocking.keys().isdisjoint(f.calls) for f in info.functions.values()):
        return True
    return _may_lose_async_defs(info)


def _may_lose_async_defs(info: ModuleInfo) -> bool:
    """Could `info.functions` lack an async def of the module (one whose qualname a later
    def takes)? Only if the module has more async defs than async functions there. They
    are counted on the bytes: every async def, and some words in strings and comments. A
    coding cookie may say the bytes are not UTF-8: then the answer is yes."""
    if syntax.may_declare_encoding(info.data):
        return True
    coroutines = sum(f.is_async for f in info.functions.values())
    return len(_ASYNC_DEF.findall(info.data)) != coroutines


def plan_blocking_calls(
    modules: Iterable[ModuleInfo], among: Collection[str] | None = None
) -> dict[str, dict[str, dict[str, str]]]:
    """display path -> {async def path: {callee as written: why it blocks}}; with
    `among`, only for the modules at those display paths (the others' sites are not
    looked for: a module's entry is its own sites' callees looked up in what blocks)."""
    infos = list(modules)
    blocking = blocking_functions(infos)
    plans: dict[str, dict[str, dict[str, str]]] = {}
    for info in infos:
        if among is not None and info.path not in among:
            continue
        if not _may_call_blocking(info, blocking):
            continue  # its tree is not walked (nor parsed again, once dropped)
        for path, func in _async_call_sites(info.tree):
            qualname = info.resolve(func)
            if qualname in blocking and isinstance(func, ast.Name | ast.Attribute):
                sites = plans.setdefault(info.path, {}).setdefault(path, {})
                sites[ast.unparse(func)] = blocking[qualname]
    return plans


# `\bdef[\s\\]+<name>\b` in a module's bytes, for any name: the `\b` is a lookbehind after
# the literal (a fast literal scan), the name a lookahead so that `def def f` (in a string,
# say) still yields `f`.
_DEF_NAME = re.compile(rb"def(?<!\wdef)[\s\\]+(?=(\w+))")
_WORD_NAME = re.compile(rb"\w+")


class _Defines:
    """Tests of a module's bytes: could it hold `def <name>`? Most candidate modules are
    then never parsed (a class, a name a package's __init__ re-exports). Each module's
    bytes are scanned once, for the names its `def`s spell. Non-ASCII names may be spelt
    in the file's own encoding: those modules are always parsed."""

    def __init__(self) -> None:
        self._spelt: dict[str, frozenset[bytes]] = {}  # display path -> names after `def`

    def of(self, name: str) -> Callable[[str, bytes], bool]:
        """The test for `name`, of a module's display path and bytes."""
        if not name.isascii():
            return lambda path, data: True
        encoded = name.encode()
        if not _WORD_NAME.fullmatch(encoded):  # not one word: searched for as it is spelt
            search = re.compile(rb"\bdef[\s\\]+" + re.escape(encoded) + rb"\b").search
            return lambda path, data: search(data) is not None
        return lambda path, data: encoded in self._names(path, data)

    def _names(self, path: str, data: bytes) -> frozenset[bytes]:
        names = self._spelt.get(path)
        if names is None:
            names = self._spelt[path] = frozenset(_DEF_NAME.findall(data))
        return names


def index_modules(index: ProjectIndex, among: Collection[str] | None = None) -> list[ModuleInfo]:
    """The modules that matter, parsed lazily and on demand. Only an async def's own calls
    can be sites, so: the modules with an async def, then, transitively, the modules that
    define a plain sync function one of them calls (found by dotted module name). With
    `among` (display paths) holding a quarter of those modules or fewer, when it can (see
    _reached_alone), only those the async defs of the modules at those paths reach:
    their sites are then found as among them all."""
    by_name: dict[str, list[SourceFile]] = {}
    for file in index.files:
        by_name.setdefault(module_name(file.path), []).append(file)
    holding = index.holding((b"async",))
    # (a whole run seals its test files, and gives the plan the rest: the search from
    # most of the modules would cost what the whole one does, and may end in it)
    if among is not None and 4 * sum(f.display in among for f in holding) <= len(holding):
        given = [
            info
            for file in holding
            if file.display in among and (info := index.module(file)) is not None
        ]
        reached = _reached_alone(index, by_name, given)
        if reached is not None:
            return reached
    return list(_reach(index, by_name, index.modules(b"async"), past=None).values())


def _reached_alone(
    index: ProjectIndex, by_name: Mapping[str, list[SourceFile]], given: list[ModuleInfo]
) -> list[ModuleInfo] | None:
    """The modules the async defs of `given` reach, followed past every function that
    calls a blocking API directly, or None when what blocks among them may not be what it
    is among the whole project's modules. The whole search stops at such a function (see
    _reach), so whether it follows the function's other callees depends on whether some
    other module's async defs reach them: it can matter only when one of those callees is
    a plain sync function (reached here); a qualname defined twice takes its first def,
    in an order that depends on every module; and a module that may have lost an async
    def (see _may_lose_async_defs) has sites among calls its facts do not list."""
    if any(_may_lose_async_defs(info) for info in given):
        return None
    past: list[str] = []
    reached = _reach(index, by_name, given, past)
    followed = [q for info in reached.values() for q, f in info.functions.items() if _followed(f)]
    if len(set(followed)) != len(followed) or not set(followed).isdisjoint(past):
        return None
    return list(reached.values())


def _reach(
    index: ProjectIndex,
    by_name: Mapping[str, list[SourceFile]],
    modules: Iterable[ModuleInfo],
    past: list[str] | None,
) -> dict[str, ModuleInfo]:
    """display path -> the modules of `modules` with an async def and those defining a
    plain sync function they call, transitively. A function that calls a blocking API
    directly is a shortest chain already: its other callees are followed only with `past`,
    which is then given them."""
    seen: dict[str, ModuleInfo] = {}
    todo: list[str] = []
    defines = _Defines()
    for info in modules:
        coroutines = [f for f in info.functions.values() if f.is_async]
        if coroutines:
            seen[info.path] = info
            todo.extend(c for f in coroutines for c in f.calls)
    done: set[str] = set()
    while todo:
        qualname = todo.pop()
        if qualname in done or qualname in BLOCKING_ROOTS:
            continue
        done.add(qualname)
        parts = qualname.split(".")
        may_define = defines.of(parts[-1])
        for end in range(1, len(parts)):
            for file in by_name.get(".".join(parts[:end]), ()):
                data = index.data(file)
                found = (
                    index.module(file)
                    if data is not None and may_define(file.display, data)
                    else None
                )
                function = found.functions.get(qualname) if found is not None else None
                if found is None or function is None or not _followed(function):
                    continue
                seen.setdefault(found.path, found)
                if not BLOCKING_ROOTS.intersection(function.calls):
                    todo.extend(function.calls)
                elif past is not None:
                    past.extend(c for c in function.calls if c not in BLOCKING_ROOTS)
                    todo.extend(function.calls)
    return seen


def local_sites(
    path: str,
    data: bytes,
    tree: ast.Module,
    shape: Shape | None = None,
    lines: Lines | None = None,
) -> dict[str, dict[str, str]]:
    """AF205 without a project plan: the same analysis on this module alone (`tree` is the
    stdlib ast of `data`, `shape` its Shape; `lines` the Lines of the bytes `tree` was
    parsed from, if known: a rewritten module's code is not). Indexed
    only when it could find something: an async def, and a sync def that may call a
    blocking API."""
    shape = shape or module_shape(tree)
    if not shape.defs[ast.AsyncFunctionDef] or not shape.defs[ast.FunctionDef]:
        return {}
    file = Path(path)
    stem = file.resolve().parent.name if file.name == "__init__.py" else file.stem
    if stem not in ROOT_MODULE_STEMS:
        if not any(token in data for token in ROOT_TOKENS):
            return {}
        callees = Callees(BLOCKING_ROOTS, shape.imports)
        if not callees.called_in(shape.defs[ast.FunctionDef], lines):
            return {}
    info = index_module(SourceFile(file, path), data, tree)
    return {} if info is None else plan_blocking_calls([info]).get(path, {})
