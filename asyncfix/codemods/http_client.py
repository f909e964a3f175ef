"""Family `http_client` (AF2xx): synchronous external calls inside async code."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    CodeRange,
    ComprehensionScope,
    ImportAssignment,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix.codemods.base import AsyncfixCodemod, Rule, SourceView, visit_with_metadata
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import (
    inside_sync_lock,
    is_primary_operand,
    lifecycle_functions,
    loop_context,
    make_await,
    module_name_at,
    parenthesize,
    remove_import_if_unused,
    to_thread_call,
)
from asyncfix.codemods.shared.app_events import foreign_handlers
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
from asyncfix.codemods.shared.pool_options import pool_limits
from asyncfix.config import Config, ConfigError
from asyncfix.files import SourceFile
from asyncfix.index import (
    BLOCK_FIELDS,
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    children,
    dotted_name,
    full_name,
    index_module,
    module_name,
    walk,
)
from asyncfix.project import declared_packages, declared_versions
from asyncfix.versions import ASYNCIO_TO_THREAD, missing

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

AF203 = Rule(
    code="AF203",
    name="time-sleep-in-async",
    summary="time.sleep() in async def -> await asyncio.sleep()",
    why=(
        "time.sleep() suspends the whole thread, and in an async def that thread is the "
        "event loop's: every other request served by this worker stops for the duration."
    ),
    fix=(
        "await asyncio.sleep(x) suspends only this coroutine. The import of asyncio is "
        "added; the import of time is removed when nothing else uses it. Not rewritten: "
        "calls in a generator expression (an await would make it an async generator), "
        "calls with unexpected arguments, and calls under a `with <lock>:` (awaiting while "
        "holding a thread lock can deadlock the loop)."
    ),
    before=(
        "import time\n"
        "\n"
        "\n"
        "async def poll(job):\n"
        "    while not job.done():\n"
        "        time.sleep(0.5)\n"
    ),
    after=(
        "import asyncio\n"
        "\n"
        "\n"
        "async def poll(job):\n"
        "    while not job.done():\n"
        "        await asyncio.sleep(0.5)\n"
    ),
    local_fix=True,
)

_SLEEP_CALL = m.Call(func=m.Attribute(attr=m.Name("sleep")) | m.Name("sleep"))


def _calls(tree: ast.AST, within: type[ast.AST] | None = None) -> Iterator[ast.Call]:
    """The calls in `tree`; with `within` (ast.AsyncFunctionDef, say), those inside such a
    def, nested code too: a superset of those in its own body (see loop_context)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, within is None)]
    while stack:
        node, inside = stack.pop()
        inside = inside or (within is not None and isinstance(node, within))
        if inside and isinstance(node, ast.Call):
            yield node
        stack += [(child, inside) for child in children(node)]


def _imports(tree: ast.Module, module: str) -> bool:
    """Does `tree` import `module` (or a submodule, or names from it) anywhere?"""
    for node in walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        if any(name == module or name.startswith(module + ".") for name in names):
            return True
    return False


def _may_call(tree: ast.Module, qualnames: Iterable[str], within: type[ast.AST] | None) -> bool:
    """Could a call in `tree` (inside a `within` def) be of one of `qualnames`, spelt through
    the module's imports (`subprocess.run`, `sp.run`, `from subprocess import run as r`,
    `from urllib import request` then `request.urlopen`) or a builtin (`open()`)? Cheap, on
    the stdlib ast, and never False where the qualified names (libcst's, the index's) say
    otherwise."""
    targets = set(qualnames)
    modules = {q.split(".", 1)[0] for q in targets}
    lasts = {q.rsplit(".", 1)[-1] for q in targets}
    names = {q.removeprefix("builtins.") for q in targets if q.startswith("builtins.")}
    heads: set[str] = set()  # names bound to one of `modules` or to something from them
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in modules:
                    heads.add(alias.asname or alias.name.split(".")[0])
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in modules
        ):
            bound = {a.asname or a.name for a in node.names if a.name != "*"}
            names |= bound  # a function
            heads |= bound  # or a submodule: `from urllib import request`
    if not heads and not names:
        return False
    for call in _calls(tree, within):
        head, _, rest = (dotted_name(call.func) or "").partition(".")
        if (rest and head in heads and rest.rsplit(".", 1)[-1] in lasts) or (
            not rest and head in names
        ):
            return True
    return False


class TimeSleep(AsyncfixCodemod):
    NAME = "time-sleep"
    FAMILY = "http_client"
    RULES = (AF203,)
    TRIGGERS = (b"async", b"sleep")
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Only a call in an async def is a site (see leave_Call).
        return _may_call(view.tree, ["time.sleep"], ast.AsyncFunctionDef)

    def screen(self, module: cst.Module) -> bool:
        # No earlier codemod writes time.sleep: the source's own ast tells if one is there.
        # Anywhere, though: an earlier codemod may move code into an async def (lifespan).
        tree = self.run.syntax_tree()
        if tree is None:
            return bool(m.findall(module, _SLEEP_CALL))
        return _may_call(tree, ["time.sleep"], None)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not QualifiedNameProvider.has_name(self, original_node, "time.sleep"):
            return updated_node
        scope = self.get_metadata(ScopeProvider, original_node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return updated_node  # sync code may sleep; only the event loop must not
        message = "time.sleep() blocks the event loop inside async def"
        reason = self._refusal(original_node, where.function, where.in_generator_expression)
        reason = reason or split_section(where.function, scope, original_node)
        if reason is not None:
            self.report(original_node, "AF203", message, reason=reason)
            return updated_node
        asyncio = module_name_at(scope, "asyncio", "sleep")
        if asyncio is None:
            self.report(
                original_node,
                "AF203",
                message,
                reason="the name `asyncio` is bound to something else here",
            )
            return updated_node
        if not self.report(original_node, "AF203", message + "; use await asyncio.sleep()"):
            return updated_node
        asyncio.add_import(self.context)
        remove_import_if_unused(self.context, scope, original_node.func)
        call = updated_node.with_changes(func=asyncio.attribute("sleep"))
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        return make_await(call, as_primary=is_primary_operand(parent, original_node))

    def _refusal(self, call: cst.Call, function: cst.FunctionDef, in_genexp: bool) -> str | None:
        if in_genexp:
            return "inside a generator expression an await would make it an async generator"
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return "time.sleep() takes exactly one positional argument; this call is unusual"
        if inside_sync_lock(self._statements, function):
            return "awaiting while a thread lock is held can deadlock the event loop"
        return None


# -- options -------------------------------------------------------------------------------

LIBRARIES = ("httpx2", "httpx", "aiohttp")


@dataclass(frozen=True)
class HttpOptions:
    """`[tool.asyncfix.http_client]`, validated."""

    library: str = "httpx2"
    timeout: float | None = None  # None: no timeout, as requests
    follow_redirects: bool = True  # as requests
    # The shared client's pool limits: the lifespan family's, so AF303 and AF201 agree
    # (only those configured: asyncfix cannot know the workload).
    pool: tuple[tuple[str, int], ...] = ()


_OPTION_KEYS = ("library", "timeout", "follow-redirects")


def http_options(config: Config) -> HttpOptions:
    """The family's options; a wrong name or type is a ConfigError with a clear message."""
    table = dict(config.family_options("http_client"))
    where = f"{config.source}: " if config.source else ""
    where += "[tool.asyncfix.http_client]"
    for key in table:
        if key not in _OPTION_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(_OPTION_KEYS)})")
    library = table.get("library")
    if library is None:
        library = _project_client(config.source)
    elif library not in LIBRARIES:
        raise ConfigError(f"{where} library must be one of {', '.join(map(repr, LIBRARIES))}")
    timeout = table.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ConfigError(f"{where} timeout must be a positive number of seconds")
    follow = table.get("follow-redirects", True)
    if not isinstance(follow, bool):
        raise ConfigError(f"{where} follow-redirects must be true or false")
    kind = "aiohttp" if library == "aiohttp" else "httpx"
    return HttpOptions(
        library=library,
        timeout=None if timeout is None else float(timeout),
        follow_redirects=follow,
        pool=tuple(pool_limits(config, kind).items()),
    )


def _project_client(pyproject: Path | None) -> str:
    """The async client the project already depends on, else httpx2: pyproject.toml's
    lists, and (as for versions) its dependency groups, requirements*.txt and lock files."""
    names = declared_packages(pyproject)
    for library in LIBRARIES:
        found = declared_versions(pyproject, library)
        if library in names or found.ranges or found.locked:
            return library
    return "httpx2"


# -- what blocks ---------------------------------------------------------------------------

# Calls that may run in a worker thread as they are: `await asyncio.to_thread(fn, ...)`,
# with the async API named for those who want to go further.
_TO_THREAD: Mapping[str, str] = {
    "subprocess.run": "asyncio.create_subprocess_exec",
    "subprocess.call": "asyncio.create_subprocess_exec",
    "subprocess.check_call": "asyncio.create_subprocess_exec",
    "subprocess.check_output": "asyncio.create_subprocess_exec",
    "os.system": "asyncio.create_subprocess_shell",
    "socket.gethostbyname": "loop.getaddrinfo()",
    "socket.getaddrinfo": "loop.getaddrinfo()",
}
# Calls whose result keeps blocking afterwards: moving only the call to a thread would hide
# the problem, so they are findings that name the async replacement.
_FINDING_ONLY: Mapping[str, tuple[str, str]] = {
    "urllib.request.urlopen": (
        "an async HTTP client (httpx2, aiohttp)",
        "the response it returns blocks on every read too",
    ),
    "socket.create_connection": (
        "asyncio.open_connection",
        "the socket it returns blocks on every send and recv too",
    ),
    "psycopg2.connect": ("asyncpg", "the connection's cursor calls block too"),
    "sqlite3.connect": ("aiosqlite", "the connection's cursor calls block too"),
    "pymysql.connect": ("aiomysql", "the connection's cursor calls block too"),
    "mysql.connector.connect": ("aiomysql", "the connection's cursor calls block too"),
    "builtins.open": (
        "aiofiles (or asyncio.to_thread around the whole read)",
        "the file object's reads and writes block too",
    ),
}
_REQUEST_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
# What makes a project function block, for AF205 (open() is left out: too common to flag).
_BLOCKING_ROOTS: frozenset[str] = frozenset(
    {"time.sleep", "requests.Session", "requests.session"}
    | {f"requests.{name}" for name in _REQUEST_METHODS}
    | set(_TO_THREAD)
    | (set(_FINDING_ONLY) - {"builtins.open"})
)
_ROOT_TOKENS = (b"sleep", b"requests", b"subprocess", b"system", b"socket", b"urlopen", b"connect")
# Decorators that keep a call of the function a plain call.
_TRANSPARENT_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "functools.cache", "functools.lru_cache"}
)


def _dotted(node: cst.BaseExpression) -> str | None:
    return get_full_name_for_node(node) if isinstance(node, cst.Name | cst.Attribute) else None


def _qualified_names(codemod: AsyncfixCodemod, node: cst.CSTNode) -> set[str]:
    return {q.name for q in codemod.get_metadata(QualifiedNameProvider, node, set())}


_ASYNCIO_TAKEN = "the name `asyncio` is bound to something else here"


# -- AF205: the project's own blocking functions, found through the index ---------------------


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
    # A call made only in an `except` block (installing a missing package, say) is a
    # fallback: offloading the whole function for it would cost a thread on every call.
    functions = [
        (f, list(f.main_calls())) for info in infos for f in info.functions.values() if _followed(f)
    ]
    found: dict[str, str] = {}
    while True:
        new: dict[str, str] = {}
        for f, calls in functions:
            if f.qualname in found or f.qualname in new:
                continue  # a qualname defined twice (same-named modules): the first wins
            for callee in calls:
                if callee in _BLOCKING_ROOTS:
                    new[f.qualname] = f"{f.name} -> {callee}"
                elif callee in found:
                    new[f.qualname] = f"{f.name} -> {found[callee]}"
                else:
                    continue
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
    head = info.data.split(b"\n", 2)[:2]
    if any(b"coding" in line for line in head):
        return True
    coroutines = sum(f.is_async for f in info.functions.values())
    return len(_ASYNC_DEF.findall(info.data)) != coroutines


def plan_blocking_calls(modules: Iterable[ModuleInfo]) -> dict[str, dict[str, dict[str, str]]]:
    """display path -> {async def path: {callee as written: why it blocks}}."""
    infos = list(modules)
    blocking = blocking_functions(infos)
    plans: dict[str, dict[str, dict[str, str]]] = {}
    for info in infos:
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


def _index_modules(index: ProjectIndex) -> list[ModuleInfo]:
    """The modules that matter, parsed lazily and on demand. Only an async def's own calls
    can be sites, so: the modules with an async def, then, transitively, the modules that
    define a plain sync function one of them calls (found by dotted module name)."""
    by_name: dict[str, list[SourceFile]] = {}
    for file in index.files:
        by_name.setdefault(module_name(file.path), []).append(file)
    seen: dict[str, ModuleInfo] = {}
    todo: list[str] = []
    defines = _Defines()
    for info in index.modules(b"async"):
        coroutines = [f for f in info.functions.values() if f.is_async]
        if coroutines:
            seen[info.path] = info
            todo.extend(c for f in coroutines for c in f.calls)
    done: set[str] = set()
    while todo:
        qualname = todo.pop()
        if qualname in done or qualname in _BLOCKING_ROOTS:
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
                if not _BLOCKING_ROOTS.intersection(function.calls):
                    # A direct blocking call is a shortest chain already: the rest is moot.
                    todo.extend(function.calls)
    return list(seen.values())


AF204 = Rule(
    code="AF204",
    name="blocking-call-in-async",
    summary="subprocess, sockets, urlopen, sync DB-API, open() in async def -> asyncio.to_thread",
    why=(
        "A blocking call in an async def holds the event loop's thread until it returns: "
        "every other request on this worker waits for the subprocess, the socket or the disk."
    ),
    fix=(
        "Calls that return a plain value (subprocess.run/call/check_call/check_output, "
        "os.system, socket.gethostbyname/getaddrinfo) become `await asyncio.to_thread(fn, "
        "*args, **kwargs)`: the arguments are evaluated first, on the loop, as before; only "
        "the call runs in a worker thread. Calls whose result keeps blocking (urlopen, "
        "socket.create_connection, psycopg2/sqlite3/pymysql connect, open) are reported with "
        "the async replacement to use (aiohttp/httpx2, asyncio.open_connection, asyncpg, "
        "aiosqlite, aiofiles). Not rewritten: calls in a generator expression and calls under "
        "a `with <lock>:`."
    ),
    before=(
        "import subprocess\n"
        "\n"
        "\n"
        "async def version():\n"
        '    out = subprocess.check_output(["git", "describe"], text=True)\n'
        "    return out.strip()\n"
    ),
    after=(
        "import asyncio\n"
        "import subprocess\n"
        "\n"
        "\n"
        "async def version():\n"
        '    out = await asyncio.to_thread(subprocess.check_output, ["git", "describe"], '
        "text=True)\n"
        "    return out.strip()\n"
    ),
)

AF205 = Rule(
    code="AF205",
    name="blocking-project-function-in-async",
    summary="async def calls a project function that blocks -> await asyncio.to_thread(fn, ...)",
    why=(
        "A sync helper that calls requests, time.sleep or subprocess blocks the event loop "
        "just as much when an async def calls it, even from another module; linters that "
        "look only at direct calls miss it."
    ),
    fix=(
        "The project index finds every plain sync function that blocks, directly or through "
        "other project functions, across modules. A call to one from an async def becomes "
        "`await asyncio.to_thread(helper, *args, **kwargs)`. Generators and decorated "
        "functions are not followed (calling them may not run their body). Not rewritten: "
        "calls in a generator expression and calls under a `with <lock>:`."
    ),
    before=(
        "import time\n"
        "\n"
        "\n"
        "def backoff(attempt):\n"
        "    time.sleep(2**attempt)\n"
        "\n"
        "\n"
        "async def retry(job, attempt):\n"
        "    backoff(attempt)\n"
        "    return await job()\n"
    ),
    after=(
        "import asyncio\n"
        "import time\n"
        "\n"
        "\n"
        "def backoff(attempt):\n"
        "    time.sleep(2**attempt)\n"
        "\n"
        "\n"
        "async def retry(job, attempt):\n"
        "    await asyncio.to_thread(backoff, attempt)\n"
        "    return await job()\n"
    ),
)

_DefNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Shape:
    """What a statements-only walk of a module finds: every import, and the outermost defs
    of each kind (an async def inside an async def is under the outer one)."""

    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    defs: dict[type[_DefNode], list[_DefNode]] = field(
        default_factory=lambda: {ast.FunctionDef: [], ast.AsyncFunctionDef: []}
    )


def _shape(tree: ast.Module) -> _Shape:
    shape = _Shape()

    def walk(nodes: Iterable[ast.AST], inside: frozenset[type[_DefNode]]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                shape.imports.append(node)
                continue
            below = inside
            if isinstance(node, _DefNode) and type(node) not in inside:
                shape.defs[type(node)].append(node)
                below = inside | {type(node)}
            for name in BLOCK_FIELDS:
                block = getattr(node, name, None)
                if block:
                    walk(block, below)

    walk(tree.body, frozenset())
    return shape


class _Lines:
    """The text of a module's statements, by their lines, where it spells the identifiers
    the ast holds: ASCII (no NFKC normalization) in a file without a coding cookie."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.usable = not any(b"coding" in line for line in data.split(b"\n", 2)[:2])
        self._starts: list[int] | None = None  # byte offset of each line; the ast's breaks

    def text(self, node: ast.stmt) -> bytes | None:
        """`node`'s lines, from its own (not its decorators'); None where not usable."""
        if not self.usable or node.end_lineno is None:
            return None
        if self._starts is None:
            lengths = (len(line) for line in self.data.splitlines(keepends=True))
            self._starts = [0, *accumulate(lengths)]
        last = min(node.end_lineno, len(self._starts) - 1)
        text = self.data[self._starts[node.lineno - 1] : self._starts[last]]
        return text if text.isascii() else None


class _Callees:
    """Which callees, as written (`sp.run`, `urlopen`, `open`), may have one of `targets` for
    a qualified name, through the module's imports (anywhere in it), however libcst's
    QualifiedNameProvider or the index (ModuleInfo.resolve) resolves them: a superset of
    both. A name may be bound by several imports, or by an assignment (then it resolves
    as written); a relative import's package is not known here, so any package counts;
    an unshadowed builtin is `builtins.<name>`."""

    def __init__(self, targets: Iterable[str], imports: Iterable[ast.Import | ast.ImportFrom]):
        self.targets = frozenset(targets)
        self.bound: dict[str, set[str]] = {}  # local name -> qualified names it may stand for
        self.relative: dict[str, set[str]] = {}  # local name -> name imported from `.pkg`
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    qualified = alias.name if alias.asname else alias.name.split(".")[0]
                    self._bind(self.bound, alias.asname or qualified, qualified)
            else:
                # `from .m import x`: `m.x` below a package not known here.
                names = self.relative if node.level else self.bound
                for alias in node.names:
                    if alias.name != "*":
                        qualified = f"{node.module}.{alias.name}" if node.module else alias.name
                        self._bind(names, alias.asname or alias.name, qualified)

    def _bind(self, names: dict[str, set[str]], name: str, qualified: str) -> None:
        # Only a name that may lead to a target matters.
        if any(t == qualified or t.startswith(qualified + ".") for t in self.targets) or (
            names is self.relative
        ):
            names.setdefault(name, set()).add(qualified)

    def may_be_target(self, dotted: str) -> bool:
        head, dot, rest = dotted.partition(".")
        targets = self.targets
        if dotted in targets or (not dot and f"builtins.{dotted}" in targets):
            return True
        if any(q + dot + rest in targets for q in self.bound.get(head, ())):
            return True
        return any(
            t == q + dot + rest or t.endswith(f".{q}{dot}{rest}")
            for q in self.relative.get(head, ())
            for t in targets
        )

    def _words(self) -> re.Pattern[bytes]:
        """A written call that may be a target spells one of these: the target's last name
        (`x.urlopen`, `open`), or a name bound to a target itself (`nap` for time.sleep)."""
        words = {t.rsplit(".", 1)[-1] for t in self.targets}
        for names in (self.bound, self.relative):
            words.update(
                name
                for name, qualified in names.items()
                if any(t == q or t.endswith(f".{q}") for q in qualified for t in self.targets)
            )
        return re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in words) + rb")\b")

    def called_in(self, nodes: Iterable[_DefNode], source: _Lines | None) -> bool:
        """Does any call under `nodes` (defs of `source`, nested code too) have a callee that
        may be a target? A def whose text spells no word it would need is not walked."""
        words: re.Pattern[bytes] | None = None
        for node in nodes:
            text = None if source is None else source.text(node)
            if text is not None:
                words = words or self._words()
                if words.search(text) is None:
                    continue
            for call in walk(node):
                if isinstance(call, ast.Call):
                    dotted = full_name(call.func)
                    if dotted is not None and self.may_be_target(dotted):
                        return True
        return False


_DIRECT = frozenset({*_TO_THREAD, *_FINDING_ONLY})
# A module's own names resolve under its name: `socket.py`'s getaddrinfo is socket's.
_ROOT_MODULE_STEMS = frozenset(part for q in _BLOCKING_ROOTS for part in q.split(".")[:-1])


def _local_sites(
    path: str,
    data: bytes,
    tree: ast.Module,
    shape: _Shape | None = None,
    lines: _Lines | None = None,
) -> dict[str, dict[str, str]]:
    """AF205 without a project plan: the same analysis on this module alone (`tree` is the
    stdlib ast of `data`, `shape` its _Shape; `lines` the _Lines of the bytes `tree` was
    parsed from, if known: a rewritten module's code is not). Indexed
    only when it could find something: an async def, and a sync def that may call a
    blocking API."""
    shape = shape or _shape(tree)
    if not shape.defs[ast.AsyncFunctionDef] or not shape.defs[ast.FunctionDef]:
        return {}
    file = Path(path)
    stem = file.resolve().parent.name if file.name == "__init__.py" else file.stem
    if stem not in _ROOT_MODULE_STEMS:
        if not any(token in data for token in _ROOT_TOKENS):
            return {}
        callees = _Callees(_BLOCKING_ROOTS, shape.imports)
        if not callees.called_in(shape.defs[ast.FunctionDef], lines):
            return {}
    info = index_module(SourceFile(file, path), data, tree)
    return {} if info is None else plan_blocking_calls([info]).get(path, {})


class BlockingCalls(AsyncfixCodemod):
    """AF204 (a blocking stdlib/DB-API call) and AF205 (a project function that blocks)."""

    NAME = "blocking-calls"
    FAMILY = "http_client"
    RULES = (AF204, AF205)
    TRIGGERS = (b"async",)
    PLAN_COST = 0.19
    INDEXES = (b"async",)  # the async defs' callees (see _index_modules)
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, context: Any, run: Any) -> None:
        super().__init__(context, run)
        self._names: list[str] = []
        self._paths: dict[cst.FunctionDef, str] = {}
        self._sites: dict[str, dict[str, str]] = {}

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return plan_blocking_calls(_index_modules(index))

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Every site, AF204 or AF205, is a call in an async def (see leave_Call).
        if view.plans.get(cls.NAME):
            return True
        shape = _shape(view.tree)
        if not shape.defs[ast.AsyncFunctionDef]:
            return False
        lines = _Lines(view.source)
        if _Callees(_DIRECT, shape.imports).called_in(shape.defs[ast.AsyncFunctionDef], lines):
            return True
        return "AF205" in view.enabled and bool(
            _local_sites(view.path, view.source, view.tree, shape, lines)
        )

    def screen(self, module: cst.Module) -> bool:
        self._sites = dict(self.planned or {})
        tree = self.run.syntax_tree()
        if not self._sites and self.enabled("AF205") and tree is not None:
            # Without a project plan for this file: the same analysis, on this module.
            self._sites = _local_sites(self.run.path, module.code.encode("utf-8"), tree)
        return bool(self._sites) or (tree is not None and _may_call(tree, _DIRECT, None))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._names.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self._names.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._paths[node] = ".".join([*self._names, node.name.value])
        self._names.extend([node.name.value, "<locals>"])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        del self._names[-2:]
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        scope = self.get_metadata(ScopeProvider, original_node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return updated_node
        names = _qualified_names(self, original_node)
        direct = sorted(names & (set(_TO_THREAD) | set(_FINDING_ONLY)))
        if direct:
            return self._direct(original_node, updated_node, direct[0], scope, where)
        callee = _dotted(original_node.func)
        chain = self._sites.get(self._paths.get(where.function, ""), {}).get(callee or "")
        if chain is None:
            return updated_node
        message = f"{callee}() blocks the event loop: {chain}"
        return self._offload(original_node, updated_node, "AF205", message, scope, where)

    def _direct(
        self, original: cst.Call, updated: cst.Call, name: str, scope: Scope, where: Any
    ) -> cst.BaseExpression:
        shown = name.removeprefix("builtins.")
        if name in _FINDING_ONLY:
            replacement, reason = _FINDING_ONLY[name]
            self.report(
                original,
                "AF204",
                f"{shown}() blocks the event loop inside async def; use {replacement}",
                reason=reason,
            )
            return updated
        message = f"{shown}() blocks the event loop inside async def"
        return self._offload(
            original, updated, "AF204", message, scope, where, alternative=_TO_THREAD[name]
        )

    def _offload(
        self,
        original: cst.Call,
        updated: cst.Call,
        code: str,
        message: str,
        scope: Scope,
        where: Any,
        alternative: str | None = None,
    ) -> cst.BaseExpression:
        reason = None
        if where.in_generator_expression:
            reason = "inside a generator expression an await would make it an async generator"
        elif inside_sync_lock(self._statements, where.function):
            reason = "awaiting while a thread lock is held can deadlock the event loop"
        else:
            reason = split_section(where.function, scope, original)
        asyncio = module_name_at(scope, "asyncio", "to_thread")
        if reason is None and asyncio is None:
            reason = _ASYNCIO_TAKEN
        if reason is None:
            reason = missing(self.run.config, ASYNCIO_TO_THREAD, self.run.path)
        if reason is not None or asyncio is None:
            self.report(original, code, message, reason=reason)
            return updated
        fix = "; run it in a thread: await asyncio.to_thread(...)"
        if alternative:
            fix += f" (or use {alternative})"
        if not self.report(original, code, message + fix):
            return updated
        asyncio.add_import(self.context)
        parent = self.get_metadata(ParentNodeProvider, original, None)
        call = to_thread_call(asyncio, updated)
        return make_await(call, as_primary=is_primary_operand(parent, original))


AF201 = Rule(
    code="AF201",
    name="requests-in-async",
    summary="requests.get/post/... in async def -> await on an async client (httpx2/httpx/aiohttp)",
    why=(
        "requests is synchronous: in an async def the whole event loop waits for the network "
        "round trip, so one slow upstream stalls every request this worker serves."
    ),
    fix=(
        "`async with <AsyncClient>(...) as client:` around the smallest statement and "
        "`await client.<method>(...)`, keeping requests' semantics: redirects followed, no "
        "timeout (unless [tool.asyncfix.http_client] says otherwise), requests.head() not "
        "following redirects. allow_redirects -> follow_redirects, str/bytes data -> "
        "content; .ok -> not r.is_error; `except requests.*` guarding the call -> the "
        "target's exceptions. Not rewritten (a finding says why): verify/cert/proxies/stream/"
        "hooks, a response passed on or using requests-only attributes, calls in FastAPI "
        "path operations and dependencies (they need the app's shared client)."
    ),
    before=(
        "import requests\n"
        "\n"
        "\n"
        "async def fetch_user(user_id):\n"
        '    r = requests.get(f"https://api.example.com/users/{user_id}", timeout=10)\n'
        "    r.raise_for_status()\n"
        "    return r.json()\n"
    ),
    after=(
        "import httpx2\n"
        "\n"
        "\n"
        "async def fetch_user(user_id):\n"
        "    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:\n"
        '        r = await client.get(f"https://api.example.com/users/{user_id}", timeout=10)\n'
        "    r.raise_for_status()\n"
        "    return r.json()\n"
    ),
)

AF202 = Rule(
    code="AF202",
    name="requests-session-in-async",
    summary="`with requests.Session() as s:` in async def -> `async with <AsyncClient>() as s:`",
    why=(
        "A requests.Session pools connections but every call on it still blocks the event "
        "loop; a module-level one shared by async handlers blocks them all."
    ),
    fix=(
        "A session used as a context manager becomes the target's async client in an "
        "`async with`, and each `s.get(...)` in it an awaited call, with the same argument, "
        "response and exception mapping as AF201. A Session kept in a variable or at module "
        "level is reported: it needs a shared client created and closed in the app's lifespan."
    ),
    before=(
        "import requests\n"
        "\n"
        "\n"
        "async def sync_all(urls):\n"
        "    with requests.Session() as s:\n"
        "        return [s.get(u).status_code for u in urls]\n"
    ),
    after=(
        "import httpx2\n"
        "\n"
        "\n"
        "async def sync_all(urls):\n"
        "    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as s:\n"
        "        return [(await s.get(u)).status_code for u in urls]\n"
    ),
)

# -- AF201/AF202: requests -> the target async client ----------------------------------------

# requests' positional parameters after the URL, per function (requests.api).
_POSITIONAL: Mapping[str, tuple[str, ...]] = {
    "get": ("url", "params"),
    "post": ("url", "data", "json"),
    "put": ("url", "data"),
    "patch": ("url", "data"),
    "delete": ("url",),
    "head": ("url",),
    "options": ("url",),
    "request": ("method", "url"),
}
_KEPT = ("params", "headers", "cookies", "json", "files", "auth", "timeout", "data")
_NO_EQUIVALENT = ("verify", "cert", "proxies", "stream", "hooks")
# requests exception (last name) -> the target's exceptions that are raised in its place.
_EXCEPTIONS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "httpx": {
        "RequestException": ("HTTPError",),
        "HTTPError": ("HTTPStatusError",),
        "Timeout": ("TimeoutException",),
        "ConnectTimeout": ("ConnectTimeout",),
        "ReadTimeout": ("ReadTimeout",),
        # requests' ConnectTimeout is also a ConnectionError; httpx's is not a ConnectError.
        "ConnectionError": ("ConnectError", "ConnectTimeout"),
        "TooManyRedirects": ("TooManyRedirects",),
    },
    "aiohttp": {
        "RequestException": ("ClientError",),
        "HTTPError": ("ClientResponseError",),
        "Timeout": ("ServerTimeoutError",),
        "ConnectTimeout": ("ConnectionTimeoutError",),
        "ConnectionError": ("ClientConnectorError", "ConnectionTimeoutError"),
    },
}
_ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "websocket"}
)
_PASSED_ON = (
    "the response is passed on (returned, stored or given to a call); code elsewhere may "
    "use requests-only attributes"
)
_NO_WS = cst.SimpleWhitespace("")


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(_NO_WS, _NO_WS),
        comma=cst.MaybeSentinel.DEFAULT,
    )


def _insert_after(args: list[cst.Arg], index: int, new: cst.Arg) -> list[cst.Arg]:
    prev = args[index]
    new = new.with_changes(comma=prev.comma)
    prev = prev.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return [*args[:index], prev, new, *args[index + 1 :]]


def _is_raw_body(value: cst.BaseExpression) -> bool | None:
    """True for str/bytes, False for form fields or None, None when it cannot be told."""
    if isinstance(value, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
        return True
    if isinstance(value, cst.Call) and m.matches(value.func, m.Attribute(attr=m.Name("encode"))):
        return True
    if isinstance(value, cst.Dict | cst.DictComp) or m.matches(value, m.Name("None")):
        return False
    if isinstance(value, cst.Call) and m.matches(value.func, m.Name("dict")):
        return False
    if isinstance(value, cst.List | cst.Tuple) and all(
        isinstance(e.value, cst.Tuple) for e in value.elements
    ):
        return False
    return None


def _awaitable_in(inner: Scope, scope: Scope) -> bool:
    """Can code in `inner` await as part of `scope` (itself, or comprehensions in it that
    are not generator expressions)?"""
    while isinstance(inner, ComprehensionScope) and not isinstance(inner.node, cst.GeneratorExp):
        inner = inner.parent
    return inner is scope


def shared_client(options: HttpOptions) -> tuple[cst.BaseExpression, str]:
    """An app-wide client, with the pool limits the project configures (none: the
    library's), and the method that closes it."""
    lib = options.library
    timeout = options.timeout
    pool = ", ".join(f"{name}={value}" for name, value in options.pool)
    if lib == "aiohttp":
        limits = "" if timeout is None else f"sock_connect={timeout!r}, sock_read={timeout!r}"
        connector = f", connector={lib}.TCPConnector({pool})" if pool else ""
        return (
            cst.parse_expression(
                f"{lib}.ClientSession(timeout={lib}.ClientTimeout({limits}){connector})"
            ),
            "close",
        )
    arguments = ["follow_redirects=True"] if options.follow_redirects else []
    arguments.append(f"timeout={timeout!r}")
    if pool:
        arguments.append(f"limits={lib}.Limits({pool})")
    return cst.parse_expression(f"{lib}.AsyncClient({', '.join(arguments)})"), "aclose"


def _app_can_take_client(info: ModuleInfo, app: str, options: HttpOptions, config: Config) -> bool:
    """Would add_lifespan_resource succeed on this app module (checked in the plan, on the
    module as it is; the transform checks again and stops the file if not)? Not when the
    module is over max-file-size: the driver leaves it as it is."""
    bound = info.imports.get(options.library)
    if options.library in info.toplevel or (bound is not None and bound != options.library):
        return False
    try:
        data = info.file.path.read_bytes()
        module = None if config.too_large(data) else cst.parse_module(data)
    except (OSError, cst.ParserSyntaxError):
        return False
    if module is None:
        return False
    create, close = shared_client(options)
    return add_lifespan_resource(module, app, "http_client", create, close) is not None


def _read_line(name: str) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Expr(cst.parse_expression(f"await {name}.read()"))])


def _is_number(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Integer | cst.Float)


@dataclass
class _Mapped:
    """A requests call mapped onto the target client, or why it cannot be."""

    args: list[cst.Arg] = field(default_factory=list)
    reason: str | None = None


@dataclass
class _ResponseUse:
    """How a response is used afterwards, and the rewrites that keeps it working."""

    fixes: dict[cst.CSTNode, str] = field(default_factory=dict)  # original node -> kind
    read: str | None = None  # aiohttp: `await <name>.read()` inside the client block
    references: list[cst.Name] = field(default_factory=list)
    reason: str | None = None

    @property
    def awaited(self) -> list[cst.CSTNode]:
        """The uses that become awaits (`.json()`, `.text`, `.content`)."""
        return [node for node, kind in self.fixes.items() if kind not in ("ok", "status_code")]


@dataclass
class _TryState:
    node: cst.Try
    in_body: bool = False
    converted: int = 0
    left: int = 0  # requests calls in its body that stay as they are
    refusal: str | None = None


def _imports_module(module: cst.Module, name: str) -> bool:
    """Does `module` import `name` (or a submodule, or names from it) anywhere?"""
    for node in m.findall(module, m.Import() | m.ImportFrom()):
        if isinstance(node, cst.Import):
            heads = [(_dotted(alias.name) or "") for alias in node.names]
        elif isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
            heads = [_dotted(node.module) or ""]
        else:
            continue
        if any(head == name or head.startswith(name + ".") for head in heads):
            return True
    return False


class _FunctionsIn:
    """`ProjectIndex.function(qualname, *tokens)` for many qualnames: the modules holding
    `tokens` are gone through once, at the first look-up, not again for each."""

    def __init__(self, index: ProjectIndex, *tokens: bytes) -> None:
        self._index = index
        self._tokens = tokens
        self._found: dict[str, FunctionInfo] | None = None

    def get(self, qualname: str) -> FunctionInfo | None:
        if self._found is None:
            self._found = {}
            for info in self._index.modules(*self._tokens):
                for name, function in info.functions.items():
                    if name.startswith(info.name + "."):
                        self._found.setdefault(name, function)  # the first module wins
        return self._found.get(qualname)


def _walk_order_calls(tree: ast.Module) -> list[ast.Call]:
    """The calls in `tree`, in `ast.walk`'s (breadth-first) order: one loop over the
    fields, where ast.walk took two generators per node."""
    nodes: list[ast.AST] = [tree]
    for node in nodes:  # grows while it is read
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                nodes.extend(
                    item
                    for item in value
                    if isinstance(item, ast.AST) and not isinstance(item, ast.expr_context)
                )
            elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
                nodes.append(value)
    return [node for node in nodes if isinstance(node, ast.Call)]


class _CallsOf:
    """Each module's calls (see _walk_order_calls), walked once per plan: a module that
    several parts of the plan look at is not walked, nor parsed again, twice."""

    def __init__(self) -> None:
        self._calls: dict[str, list[ast.Call]] = {}  # display path -> calls

    def __call__(self, info: ModuleInfo) -> list[ast.Call]:
        found = self._calls.get(info.path)
        if found is None:
            found = self._calls[info.path] = _walk_order_calls(info.tree)
        return found


# The names a call of requests (or of a session) is spelt with, as screen() looks for them.
_REQUESTS_CALLED = frozenset({*_REQUEST_METHODS, "Session", "session"})


class RequestsToAsync(AsyncfixCodemod):
    """AF201 (requests.get(...) and friends) and AF202 (`with requests.Session() as s:`)."""

    NAME = "requests-to-async"
    FAMILY = "http_client"
    RULES = (AF201, AF202)
    AFTER = ("lifespan",)
    TRIGGERS = (b"async", b"requests")
    PLAN_COST = 0.06
    METADATA_DEPENDENCIES = (
        ScopeProvider,
        QualifiedNameProvider,
        ParentNodeProvider,
        PositionProvider,
    )

    def __init__(self, context: Any, run: Any) -> None:
        super().__init__(context, run)
        self.options = http_options(run.config)
        self.library = self.options.library
        self.family = "aiohttp" if self.library == "aiohttp" else "httpx"
        self._clients: dict[cst.CSTNode, str] = {}  # original statement -> client name
        self._reads: dict[cst.CSTNode, list[str]] = {}  # aiohttp: responses to read
        self._fixes: dict[cst.CSTNode, str] = {}  # original response attribute -> kind
        self._raising: set[cst.CSTNode] = set()  # response references that may raise
        self._tries: list[_TryState] = []
        self._session_calls: dict[cst.Call, tuple[str, list[cst.Arg], str]] = {}
        self._session_withs: set[cst.With] = set()
        self._dependencies: set[str] = set()
        self._session_makers: set[cst.Call] = set()
        self._local_dependencies: set[str] = set()
        # The app of this module whose lifespan can hold the shared client, and its routers.
        self._shared: tuple[str, frozenset[str]] | None = None
        self._shared_used = False
        self._has_app = False
        self._blocked_by: str | None = None  # where a handler in another module registers
        self._add_request: set[cst.FunctionDef] = set()
        self._extra_reads: dict[cst.CSTNode, list[str]] = {}  # shared client, aiohttp

    @classmethod
    def check_config(cls, config: Config) -> None:
        http_options(config)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        plans: dict[str, dict[str, Any]] = {}
        requesting = _FunctionsIn(index, b"requests")
        calls = _CallsOf()
        for info in index.modules(b"Depends", b"Security"):
            for node in calls(info):
                if info.resolve(node.func) not in (
                    "fastapi.Depends",
                    "fastapi.Security",
                    "fastapi.params.Depends",
                ):
                    continue
                target = node.args[0] if node.args else None
                for kw in node.keywords:
                    if kw.arg == "dependency":
                        target = kw.value
                qualname = info.resolve(target) if target is not None else None
                found = requesting.get(qualname) if qualname else None
                if found is not None:
                    deps = plans.setdefault(found.path, {}).setdefault("dependencies", [])
                    deps.append(found.qualname.removeprefix(found.module + "."))
        # The shared client goes into the app's lifespan; `lifespan=` silently disables
        # event handlers that another module may register on that app, so then it does not.
        foreign = foreign_handlers(index)
        apps: dict[str, tuple[ModuleInfo, str]] = {}
        for info in index.modules(b"FastAPI"):
            names = [n for n, (c, _) in info.assignments.items() if c == "fastapi.FastAPI"]
            if names and info.path in foreign:
                plans.setdefault(info.path, {})["shared_blocked"] = foreign[info.path]
            elif len(names) == 1:
                apps[f"{info.name}.{names[0]}"] = (info, names[0])
        cls._plan_routers(index, apps, http_options(config), plans, calls, config)
        return plans

    @staticmethod
    def _plan_routers(
        index: ProjectIndex,
        apps: Mapping[str, tuple[ModuleInfo, str]],
        options: HttpOptions,
        plans: dict[str, dict[str, Any]],
        calls: _CallsOf,
        config: Config,
    ) -> None:
        """A router with requests calls, included into exactly one app of another module
        whose lifespan can take the client: its handlers use the shared client, and that
        app module gets it. Decided here, once, for both files."""
        owners: dict[str, set[str]] = {}
        for info in index.modules(b"include_router"):
            for node in calls(info):
                if (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "include_router"
                    and node.args
                ):
                    owner = info.resolve(node.func.value)
                    router = info.resolve(node.args[0])
                    if owner and router:
                        owners.setdefault(router, set()).add(owner)
        feasible: dict[str, bool] = {}
        for info in index.modules(b"requests"):
            for name, (callee, _) in info.assignments.items():
                if callee not in ("fastapi.APIRouter", "fastapi.routing.APIRouter"):
                    continue
                including = owners.get(f"{info.name}.{name}", set())
                if len(including) != 1 or next(iter(including)) not in apps:
                    continue  # several apps, or a router inside another router
                app_info, app = apps[next(iter(including))]
                if app_info.path == info.path:
                    continue  # the same module: its transform decides alone
                if index.outside(info.path) or index.outside(app_info.path):
                    continue  # both change or neither: each file then decides alone
                if app_info.path not in feasible:
                    feasible[app_info.path] = _app_can_take_client(app_info, app, options, config)
                if feasible[app_info.path]:
                    plans.setdefault(info.path, {}).setdefault("shared_routers", []).append(name)
                    plans.setdefault(app_info.path, {})["add_shared"] = app

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # screen()'s test on the ast, and only calls in an async def: every finding is one
        # (see leave_Call and visit_With), and has a qualified name under `requests`, so
        # needs its import. Of a plan only `add_shared` changes a file without either.
        if (view.plans.get(cls.NAME) or {}).get("add_shared"):
            return True
        if not _imports(view.tree, "requests"):
            return False
        return any(
            (isinstance(call.func, ast.Attribute) and call.func.attr in _REQUESTS_CALLED)
            or (isinstance(call.func, ast.Name) and call.func.id in _REQUESTS_CALLED)
            for call in _calls(view.tree, ast.AsyncFunctionDef)
        )

    def screen(self, module: cst.Module) -> bool:
        planned = self.planned or {}
        # Every site is a qualified name under `requests`: a module that does not import it
        # has none (`.get(` alone matches every dict lookup, so it cannot be the screen).
        if not planned and not _imports_module(module, "requests"):
            return False
        self._dependencies = set(planned.get("dependencies", ()))
        for call in m.findall(
            module, m.Call(func=m.Name("Depends") | m.Attribute(attr=m.Name("Depends")))
        ):
            if isinstance(call, cst.Call) and call.args:
                self._local_dependencies.add(_dotted(call.args[0].value) or "")
        self._dependencies |= self._local_dependencies
        return bool(
            m.findall(
                module,
                m.Call(
                    func=m.Attribute(attr=m.OneOf(*map(m.Name, _REQUESTS_CALLED)))
                    | m.Name(m.MatchIfTrue(_REQUESTS_CALLED.__contains__))
                ),
            )
        )

    # -- the shared client of a FastAPI app ---------------------------------------------------

    def transform(self, module: cst.Module) -> cst.Module:
        # The app module of routers elsewhere gets the client even without requests calls.
        planned_app: str | None = (self.planned or {}).get("add_shared")
        result = module
        if self.screen(module):
            self._module = module
            self._shared = self._find_shared(module)
            result = visit_with_metadata(self, module)
            if self._shared_used and self._shared is not None:
                planned_app = self._shared[0]
        if planned_app is not None:
            create, close = self._shared_client()
            added = add_lifespan_resource(
                result, planned_app, "http_client", create, close, context=self.context
            )
            if added is None:  # checked before (here or in the plan): a bug if it happens
                raise RuntimeError("the app's lifespan could not take the shared client")
            if added is not result:
                AddImportsVisitor.add_needed_import(self.context, self.library)
                self.require_package(self.library)
            result = added
        return result

    def _shared_client(self) -> tuple[cst.BaseExpression, str]:
        return shared_client(self.options)

    def _find_shared(self, module: cst.Module) -> tuple[str, frozenset[str]] | None:
        """The one `app = FastAPI(...)` of this module, if its lifespan can take the client,
        with the routers included into it here."""
        self._blocked_by = (self.planned or {}).get("shared_blocked")
        if self._blocked_by:
            return None
        apps: list[str] = []
        routers: set[str] = set()
        included: set[str] = set()
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                continue
            small = stmt.body[0]
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                target = small.targets[0].target if len(small.targets) == 1 else None
                func = _dotted(small.value.func)
                if isinstance(target, cst.Name) and func in ("FastAPI", "fastapi.FastAPI"):
                    apps.append(target.value)
                if isinstance(target, cst.Name) and func in ("APIRouter", "fastapi.APIRouter"):
                    routers.add(target.value)
            elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                call = small.value
                if m.matches(call.func, m.Attribute(attr=m.Name("include_router"))) and call.args:
                    included.add(_dotted(call.args[0].value) or "")
        self._has_app = bool(apps)
        if len(apps) != 1:
            return None
        create, close = self._shared_client()
        if add_lifespan_resource(module, apps[0], "http_client", create, close) is None:
            return None
        return apps[0], frozenset(routers & included)

    def _shared_request(
        self, function: cst.FunctionDef, scope: Scope
    ) -> tuple[str | None, str | None]:
        """The handler's `Request` parameter (added when it has none), or why not."""
        needs = (
            "in a FastAPI path operation or dependency it needs the app's shared client "
            "(request.app.state.http_client, created in the lifespan)"
        )
        elsewhere = set((self.planned or {}).get("shared_routers", ()))
        if self._shared is None and self._blocked_by and not elsewhere:
            return None, (
                f"{needs}; the on_event handler at {self._blocked_by} (another module) may "
                "register on this module's app, and lifespan= would stop it from running"
            )
        if self._shared is None and not self._has_app and not elsewhere:
            return None, needs + "; the app is built in another module"
        if self._shared is None and not elsewhere:
            return None, needs + "; this module's app lifespan cannot take it"
        app, routers = self._shared or ("", frozenset())
        routers = routers | elsewhere
        ours = self._shared is not None and function.name.value in self._local_dependencies
        for decorator in function.decorators:
            target = decorator.decorator
            if (
                isinstance(target, cst.Call)
                and isinstance(target.func, cst.Attribute)
                and isinstance(target.func.value, cst.Name)
                and target.func.value.value in {app, *routers} - {""}
            ):
                if target.func.attr.value == "websocket":
                    return None, needs + "; a websocket handler has no Request"
                ours = ours or target.func.attr.value in _ROUTE_DECORATORS
        if not ours:
            return None, needs + "; its app is not in this module"
        found = module_name_at(scope.globals, self.library)
        if found is None or found.name != self.library:
            return None, f"the name `{self.library}` is bound to something else in this module"
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.annotation is not None and _qualified_names(
                self, param.annotation.annotation
            ) & {"fastapi.Request", "starlette.requests.Request"}:
                return param.name.value, None
        if "request" in scope:
            return None, needs + "; the name `request` is already used in the handler"
        if "Request" in scope.globals and not all(
            isinstance(a, ImportAssignment) for a in scope.globals["Request"]
        ):
            return None, needs + "; the name `Request` is bound to something else"
        return "request", None  # a parameter to add, once the call is really rewritten

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if original_node not in self._add_request:
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "fastapi", "Request")
        param = cst.Param(cst.Name("request"), annotation=cst.Annotation(cst.Name("Request")))
        params = updated_node.params
        defaults = any(p.default is not None for p in (*params.posonly_params, *params.params))
        if isinstance(params.star_arg, cst.Param | cst.ParamStar) or defaults:
            # After parameters with defaults it can only be keyword-only.
            star = params.star_arg if isinstance(params.star_arg, cst.Param) else cst.ParamStar()
            params = params.with_changes(
                star_arg=star, kwonly_params=[*params.kwonly_params, param]
            )
        else:
            params = params.with_changes(params=[*params.params, param])
        return updated_node.with_changes(params=params)

    # -- where we are ----------------------------------------------------------------------

    def _here(self, node: cst.CSTNode) -> CodeRange | None:
        # Positions in the tree this codemod was given (an earlier codemod may have changed
        # it), so that two nodes of it compare correctly.
        return self.get_metadata(PositionProvider, node, None)

    def _endpoint(self, function: cst.FunctionDef) -> bool:
        """A FastAPI path operation (a route decorator) or dependency (used in Depends)."""
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call) and m.matches(
                target.func, m.Attribute(attr=m.Name(m.MatchIfTrue(_ROUTE_DECORATORS.__contains__)))
            ):
                return True
        return function.name.value in self._dependencies

    def _client_module(self, scope: Scope) -> str | None:
        found = module_name_at(scope, self.library)
        if found is None:
            return None
        if found.needs_import:
            AddImportsVisitor.add_needed_import(self.context, self.library)
        self.require_package(self.library)
        return found.name

    def _client_expression(self, module: str) -> cst.BaseExpression:
        timeout = self.options.timeout
        if self.family == "aiohttp":
            limits = "" if timeout is None else f"sock_connect={timeout!r}, sock_read={timeout!r}"
            return cst.parse_expression(
                f"{module}.ClientSession(timeout={module}.ClientTimeout({limits}))"
            )
        options = ["follow_redirects=True"] if self.options.follow_redirects else []
        options.append(f"timeout={timeout!r}")
        return cst.parse_expression(f"{module}.AsyncClient({', '.join(options)})")

    def _fresh_name(self, scope: Scope) -> str:
        # Each client lives in its own `async with`, so one name serves every statement;
        # it only must not be a name the function already uses.
        base = "session" if self.family == "aiohttp" else "client"
        for candidate in (base, f"http_{base}", *(f"{base}{i}" for i in range(2, 100))):
            if candidate not in scope:
                return candidate
        return f"{base}_asyncfix"

    # -- try/except --------------------------------------------------------------------------

    def visit_Try(self, node: cst.Try) -> None:
        self._tries.append(_TryState(node, refusal=self._handlers_refusal(node)))

    def _handlers_refusal(self, node: cst.Try) -> str | None:
        """Why the `except requests.*` clauses of `node` cannot be mapped, if they cannot."""
        exceptions = _EXCEPTIONS[self.family]
        has_json = bool(m.findall(node.body, m.Call(func=m.Attribute(attr=m.Name("json")))))
        for handler in node.handlers:
            for element in self._handler_types(handler):
                name = self._requests_exception(element)
                if name is None:
                    continue
                if name not in exceptions:
                    return f"`except requests.{name}` has no exact {self.library} equivalent"
                if name == "RequestException" and has_json:
                    return (
                        "`except requests.RequestException` also catches r.json() decoding "
                        f"errors, which {self.library} raises as ValueError"
                    )
                unknown = self._exception_attributes(handler, name)
                if unknown:
                    return (
                        f"the handler reads `.{unknown}` of the exception, which "
                        f"{self.library}'s {_EXCEPTIONS[self.family][name][0]} does not have"
                    )
        return None

    def _exception_attributes(self, handler: cst.ExceptHandler, name: str) -> str | None:
        """An attribute of the caught exception the target's exception does not have."""
        if handler.name is None or not isinstance(handler.name.name, cst.Name):
            return None
        bound = handler.name.name.value
        allowed: set[str] = set()
        if self.family == "httpx":
            allowed = {"request", "response"} if name == "HTTPError" else {"request"}
        for node in m.findall(handler.body, m.Attribute(value=m.Name(bound))):
            if isinstance(node, cst.Attribute) and node.attr.value not in allowed:
                return node.attr.value
        return None

    def visit_Try_body(self, node: cst.Try) -> None:
        self._tries[-1].in_body = True

    def leave_Try_body(self, node: cst.Try) -> None:
        self._tries[-1].in_body = False

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        state = self._tries.pop()
        if not state.converted or state.refusal:
            return updated_node
        handlers = [
            self._map_handler(old, new, keep=bool(state.left))
            for old, new in zip(original_node.handlers, updated_node.handlers, strict=True)
        ]
        return updated_node.with_changes(handlers=handlers)

    def _handler_types(self, handler: cst.ExceptHandler) -> list[cst.BaseExpression]:
        if handler.type is None:
            return []
        if isinstance(handler.type, cst.Tuple):
            return [e.value for e in handler.type.elements]
        return [handler.type]

    def _requests_exception(self, node: cst.BaseExpression) -> str | None:
        for name in _qualified_names(self, node):
            for prefix in ("requests.exceptions.", "requests."):
                if name.startswith(prefix) and "." not in name.removeprefix(prefix):
                    return name.removeprefix(prefix)
        return None

    def _map_handler(
        self, original: cst.ExceptHandler, updated: cst.ExceptHandler, *, keep: bool
    ) -> cst.ExceptHandler:
        scope = self.get_metadata(ScopeProvider, original, None)
        if original.type is None or scope is None:
            return updated
        module = module_name_at(scope, self.library)
        if module is None:
            return updated
        elements: list[cst.BaseExpression] = []
        changed = False
        for old in self._handler_types(original):
            name = self._requests_exception(old)
            if name is None:
                elements.append(old)
                continue
            changed = True
            if keep:
                elements.append(old)  # other requests calls in the body still raise these
            else:
                remove_import_if_unused(self.context, scope, old)
            for target in _EXCEPTIONS[self.family][name]:
                elements.append(cst.Attribute(cst.Name(module.name), cst.Name(target)))
        if not changed:
            return updated
        self._client_module(scope)
        unique: list[cst.BaseExpression] = []
        for e in elements:
            if not any(e.deep_equals(u) for u in unique):
                unique.append(e)
        if len(unique) == 1:
            new_type: cst.BaseExpression = unique[0].with_changes(lpar=[], rpar=[])
        else:
            new_type = cst.Tuple(
                [
                    cst.Element(e, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                    for e in unique[:-1]
                ]
                + [cst.Element(unique[-1])]
            )
        whitespace = updated.whitespace_after_except
        if isinstance(whitespace, cst.SimpleWhitespace) and not whitespace.value:
            whitespace = cst.SimpleWhitespace(" ")
        return updated.with_changes(type=new_type, whitespace_after_except=whitespace)

    def _mark_tries(self, converted: bool) -> None:
        for state in self._tries:
            if state.in_body:
                if converted:
                    state.converted += 1
                else:
                    state.left += 1

    def _try_refusal(self) -> str | None:
        for state in self._tries:
            if state.in_body and state.refusal:
                return state.refusal
        return None

    def visit_Name(self, node: cst.Name) -> None:
        # r.raise_for_status() inside a try raises the target's exceptions now.
        if node in self._raising:
            self._mark_tries(True)

    # -- arguments ---------------------------------------------------------------------------

    def _map_arguments(self, method: str, call: cst.Call, module: str) -> _Mapped:
        positional = _POSITIONAL[method]
        lib = self.library
        args: list[cst.Arg] = []
        given: set[str] = set()
        for i, arg in enumerate(call.args):
            if arg.star:
                return _Mapped(reason="*args/**kwargs hide which options are passed")
            if arg.keyword is None:
                if i >= len(positional):
                    return _Mapped(reason="more positional arguments than requests accepts")
                name = positional[i]
                if name not in ("url", "method"):
                    arg = _keyword(name, arg.value).with_changes(comma=arg.comma)
            else:
                name = arg.keyword.value
            given.add(name)
            if name in ("url", "method"):
                args.append(arg)
                continue
            if name in _NO_EQUIVALENT:
                return _Mapped(reason=f"`{name}=` has no per-request {lib} equivalent")
            if name == "allow_redirects":
                if self.family == "httpx":
                    arg = arg.with_changes(keyword=cst.Name("follow_redirects"))
                args.append(arg)
                continue
            if name not in _KEPT:
                return _Mapped(reason=f"`{name}=` is not a requests option asyncfix can map")
            value = arg.value
            if name == "data":
                raw = _is_raw_body(value)
                if raw is None:
                    return _Mapped(
                        reason="cannot tell whether `data=` is form fields or a raw body"
                    )
                if raw and self.family == "aiohttp":
                    return _Mapped(
                        reason="aiohttp adds a Content-Type to a raw body; requests does not"
                    )
                if raw:
                    arg = arg.with_changes(keyword=cst.Name("content"))
            elif name == "timeout":
                if not (_is_number(value) or m.matches(value, m.Name("None"))):
                    return _Mapped(
                        reason="`timeout=` is not a number: a requests (connect, read) tuple "
                        f"has no same-shaped {lib} equivalent"
                    )
                if self.family == "aiohttp":
                    text = cst.Module([]).code_for_node(value)
                    limits = "" if text == "None" else f"sock_connect={text}, sock_read={text}"
                    arg = arg.with_changes(
                        value=cst.parse_expression(f"{module}.ClientTimeout({limits})")
                    )
            elif name == "auth":
                if m.matches(value, m.Name("None")):
                    pass
                elif not (isinstance(value, cst.Tuple) and len(value.elements) == 2):
                    return _Mapped(
                        reason=f"`auth=` may be a requests auth object, which {lib} does not accept"
                    )
                elif self.family == "aiohttp":
                    user, password = (cst.Module([]).code_for_node(e.value) for e in value.elements)
                    arg = arg.with_changes(
                        value=cst.parse_expression(f"{module}.BasicAuth({user}, {password})")
                    )
            elif name == "files" and self.family == "aiohttp":
                return _Mapped(reason="aiohttp has no `files=`; it needs an aiohttp.FormData")
            args.append(arg)
        url_index = positional.index("url")
        if (
            any(a.keyword is not None for a in call.args[: url_index + 1])
            or len(call.args) <= url_index
        ):
            return _Mapped(reason="the URL is not passed positionally")
        if "allow_redirects" in given:
            return _Mapped(args=args)
        # requests.head() does not follow redirects; every other requests function does,
        # and so does aiohttp's (its head() does not either).
        if self.family == "httpx" and method == "head" and self.options.follow_redirects:
            extra = _keyword("follow_redirects", cst.Name("False"))
            args = _insert_after(args, url_index, extra)
        elif self.family == "aiohttp" and not self.options.follow_redirects and method != "head":
            extra = _keyword("allow_redirects", cst.Name("False"))
            args = _insert_after(args, url_index, extra)
        return _Mapped(args=args)

    # -- responses ---------------------------------------------------------------------------

    def _attribute_use(self, attribute: cst.Attribute, use: _ResponseUse, in_loop: bool) -> None:
        attr = attribute.attr.value
        parent = self.get_metadata(ParentNodeProvider, attribute, None)
        called = isinstance(parent, cst.Call) and parent.func is attribute
        if attr in ("json", "raise_for_status") and not called:
            use.reason = f"`.{attr}` is used without being called"
        elif attr == "iter_content":
            use.reason = "r.iter_content() streams; the async client needs client.stream() for that"
        elif self.family == "httpx":
            if attr == "ok":
                use.fixes[attribute] = "ok"
            elif attr not in (
                "json",
                "text",
                "content",
                "status_code",
                "headers",
                "raise_for_status",
            ):
                use.reason = f"`.{attr}` has a different name or type in {self.library}"
        elif attr in ("headers", "ok", "raise_for_status"):
            pass
        elif attr in ("status_code", "text", "content", "json"):
            if attr != "status_code" and not in_loop:
                use.reason = f"`.{attr}` is read where it cannot be awaited"
            elif attr == "json" and isinstance(parent, cst.Call) and parent.args:
                use.reason = "aiohttp's json() takes other arguments"
            elif attr == "json" and isinstance(parent, cst.Call):
                use.fixes[parent] = attr
            else:
                use.fixes[attribute] = attr
        else:
            use.reason = f"`.{attr}` has a different name or type in aiohttp"

    def _response_use(self, call: cst.Call, scope: Scope) -> _ResponseUse:
        use = _ResponseUse()
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Attribute) and parent.value is call:
            self._attribute_use(parent, use, in_loop=True)
            return use
        if isinstance(parent, cst.Expr):
            return use
        if not (
            isinstance(parent, cst.Assign)
            and len(parent.targets) == 1
            and isinstance(parent.targets[0].target, cst.Name)
        ):
            use.reason = _PASSED_ON
            return use
        target = parent.targets[0].target
        assignment = next(
            (a for a in scope.assignments[target.value] if getattr(a, "node", None) is target),
            None,
        )
        if not isinstance(assignment, Assignment):
            use.reason = _PASSED_ON
            return use
        start = self._here(call)
        for ref in assignment.references:
            where = self._here(ref.node)
            if len(ref.referents) > 1:
                use.reason = f"`{target.value}` may also hold another value where it is used"
            elif (
                start is None
                or where is None
                or (where.start.line, where.start.column)
                < (
                    start.start.line,
                    start.start.column,
                )
            ):
                use.reason = f"`{target.value}` is used before the call (in a loop?)"
            else:
                node = ref.node
                ref_parent = self.get_metadata(ParentNodeProvider, node, None)
                if isinstance(ref_parent, cst.Attribute) and ref_parent.value is node:
                    self._attribute_use(ref_parent, use, in_loop=_awaitable_in(ref.scope, scope))
                    if isinstance(node, cst.Name):
                        use.references.append(node)
                else:
                    use.reason = _PASSED_ON
            if use.reason:
                return use
        if self.family == "aiohttp" and use.references:
            use.read = target.value
        return use

    # -- the calls ---------------------------------------------------------------------------

    def _requests_method(self, call: cst.Call) -> str | None:
        for name in _qualified_names(self, call):
            if name.startswith("requests.") and name.removeprefix("requests.") in _REQUEST_METHODS:
                return name.removeprefix("requests.")
        return None

    def _module_session(self, call: cst.Call, scope: Scope) -> bool:
        """`session.get(...)` on a `session = requests.Session()` made at module level."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return False
        if func.attr.value not in _REQUEST_METHODS or func.value.value not in scope:
            return False
        for assignment in scope[func.value.value]:
            if not isinstance(assignment, Assignment) or assignment.scope is not scope.globals:
                continue
            target = self.get_metadata(ParentNodeProvider, assignment.node, None)
            assign = self.get_metadata(ParentNodeProvider, target, None) if target else None
            if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call):
                names = _qualified_names(self, assign.value)
                if names & {"requests.Session", "requests.session"}:
                    return True
        return False

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._session_calls:
            self._mark_tries(True)
            return self._awaited(original_node, updated_node, *self._session_calls[original_node])
        kind = self._fixes.get(original_node)
        if kind == "json":  # aiohttp: `await r.json(content_type=None)` skips its MIME check
            call = updated_node.with_changes(args=[_keyword("content_type", cst.Name("None"))])
            parent = self.get_metadata(ParentNodeProvider, original_node, None)
            return make_await(call, as_primary=is_primary_operand(parent, original_node))
        method = self._requests_method(original_node)
        scope = self.get_metadata(ScopeProvider, original_node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return updated_node
        if method is None:
            if self._module_session(original_node, scope):
                self.report(
                    original_node,
                    "AF202",
                    "a module-level requests.Session blocks the event loop inside async def",
                    reason="it needs a shared async client, created and closed in the lifespan",
                )
            elif original_node not in self._session_makers and _qualified_names(
                self, original_node
            ) & {"requests.Session", "requests.session"}:
                self.report(
                    original_node,
                    "AF202",
                    "requests.Session() used inside async def",
                    reason="only `with requests.Session() as s:` has a lifetime asyncfix can see",
                )
            return updated_node
        message = f"requests.{method}() blocks the event loop inside async def"
        reason = self._refusal(original_node, method, scope, where)
        mapped = _Mapped()
        use = _ResponseUse()
        module = module_name_at(scope, self.library)
        if reason is None and module is None:
            reason = f"the name `{self.library}` is bound to something else here"
        request: str | None = None
        if reason is None and self._endpoint(where.function):
            request, reason = self._shared_request(where.function, scope)
            if request is not None:
                module = module_name_at(scope.globals, self.library)
        if reason is None and module is not None:
            mapped = self._map_arguments(method, updated_node, module.name)
            use = self._response_use(original_node, scope)
            reason = mapped.reason or use.reason
        if reason is None:
            reason = split_section(where.function, scope, original_node, *use.awaited)
        header = not isinstance(self._statements[-1], cst.SimpleStatementLine)
        if reason is None and request is not None and use.read and header:
            reason = "aiohttp needs the body read after the call; here it is in a header"
        reads = use.read is not None or any(k != "status_code" for k in use.fixes.values())
        if reason is None and request is not None and self.family == "aiohttp" and not reads:
            # On the app's long-lived session an unread response keeps its connection.
            reason = "the body is never read, so aiohttp would keep the pooled connection"

        if reason is not None or module is None:
            self._mark_tries(False)
            self.report(original_node, "AF201", message, reason=reason)
            return updated_node
        fix = f"; use await on {self.library}'s async client"
        if not self.report(original_node, "AF201", message + fix):
            self._mark_tries(False)
            return updated_node
        self._mark_tries(True)
        statement = self._statements[-1]
        if request is not None:
            self._shared_used = True
            if request == "request" and "request" not in scope:
                # (added here, not when asked for: a refused call must leave no parameter)
                self._add_request.add(where.function)
            if use.read:
                self._extra_reads.setdefault(statement, []).append(use.read)
            self._fixes.update(use.fixes)
            self._raising.update(use.references)
            if self.family == "aiohttp":  # aiohttp.BasicAuth / ClientTimeout arguments
                self._client_module(scope)
            remove_import_if_unused(self.context, scope, original_node.func)
            client = f"{request}.app.state.http_client"
            return self._awaited(original_node, updated_node, client, mapped.args, method)
        client = self._clients.get(statement) or self._fresh_name(scope)
        self._clients[statement] = client
        if use.read:
            self._reads.setdefault(statement, []).append(use.read)
        self._fixes.update(use.fixes)
        self._raising.update(use.references)
        self._client_module(scope)
        remove_import_if_unused(self.context, scope, original_node.func)
        return self._awaited(original_node, updated_node, client, mapped.args, method)

    def _awaited(
        self,
        original: cst.Call,
        updated: cst.Call,
        client: str,
        args: list[cst.Arg],
        method: str | None = None,
    ) -> cst.BaseExpression:
        name = method or (
            updated.func.attr.value if isinstance(updated.func, cst.Attribute) else ""
        )
        func = cst.Attribute(cst.parse_expression(client), cst.Name(name))
        call = updated.with_changes(func=func, args=args)
        parent = self.get_metadata(ParentNodeProvider, original, None)
        return make_await(call, as_primary=is_primary_operand(parent, original))

    def _refusal(self, call: cst.Call, method: str, scope: Scope, where: Any) -> str | None:
        if where.in_generator_expression:
            return "inside a generator expression an await would make it an async generator"
        if inside_sync_lock(self._statements, where.function):
            return "awaiting while a thread lock is held can deadlock the event loop"
        statement = self._statements[-1] if self._statements else None
        if not self._endpoint(where.function) and not isinstance(
            statement, cst.SimpleStatementLine
        ):
            return "the call is in the header of a compound statement or a one-line block"
        return self._try_refusal()

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        kind = self._fixes.get(original_node)
        if kind is None or kind == "json":
            return updated_node
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if kind == "ok":
            negated = cst.UnaryOperation(
                cst.Not(), updated_node.with_changes(attr=cst.Name("is_error"))
            )
            # `not` binds more loosely than comparisons, arithmetic and primaries.
            tight = cst.Comparison | cst.BinaryOperation | cst.Attribute | cst.Subscript | cst.Await
            if isinstance(parent, tight) or (
                isinstance(parent, cst.UnaryOperation) and not isinstance(parent.operator, cst.Not)
            ):
                return parenthesize(negated)
            return negated
        if kind == "status_code":
            return updated_node.with_changes(attr=cst.Name("status"))
        method = "text" if kind == "text" else "read"
        call = cst.Call(updated_node.with_changes(attr=cst.Name(method)))
        return make_await(call, as_primary=is_primary_operand(parent, original_node))

    def leave_UnaryOperation(
        self, original_node: cst.UnaryOperation, updated_node: cst.UnaryOperation
    ) -> cst.BaseExpression:
        inner = updated_node.expression
        if (
            isinstance(original_node.operator, cst.Not)
            and self._fixes.get(original_node.expression) == "ok"
            and isinstance(inner, cst.UnaryOperation)
        ):
            return inner.expression.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        client = self._clients.get(original_node)
        if client is None:
            reads = self._extra_reads.get(original_node)
            if not reads:
                return updated_node
            # aiohttp reads the body lazily; read it now so the connection goes back.
            lines = [_read_line(name) for name in reads]
            return cst.FlattenSentinel([updated_node, *lines])
        scope = self.get_metadata(ScopeProvider, original_node, None)
        module = module_name_at(scope, self.library) if scope is not None else None
        assert module is not None  # checked when the call was converted
        body: list[cst.BaseStatement] = [updated_node.with_changes(leading_lines=[])]
        # aiohttp reads the body lazily: read it while the session is open.
        body.extend(_read_line(name) for name in self._reads.get(original_node, []))
        return cst.With(
            items=[
                cst.WithItem(
                    self._client_expression(module.name), asname=cst.AsName(cst.Name(client))
                )
            ],
            body=cst.IndentedBlock(body),
            asynchronous=cst.Asynchronous(),
            leading_lines=updated_node.leading_lines,
        )

    # -- AF202: with requests.Session() as s --------------------------------------------------

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None or len(node.items) != 1:
            return
        item = node.items[0]
        maker = item.item
        if not isinstance(maker, cst.Call) or not (
            _qualified_names(self, maker) & {"requests.Session", "requests.session"}
        ):
            return
        scope = self.get_metadata(ScopeProvider, node, None)
        where = loop_context(scope)
        if scope is None or where.function is None:
            return
        self._session_makers.add(maker)
        message = "requests.Session() blocks the event loop inside async def"
        reason, calls = self._session_refusal(node, maker, scope, where)
        if reason is not None:
            self.report(maker, "AF202", message, reason=reason)
            return
        if not self.report(maker, "AF202", message + f"; use {self.library}'s async client"):
            return
        self._session_withs.add(node)
        for call, (name, mapped, method, use) in calls.items():
            self._session_calls[call] = (name, mapped, method)
            self._fixes.update(use.fixes)
            self._raising.update(use.references)

    def _session_refusal(
        self, node: cst.With, maker: cst.Call, scope: Scope, where: Any
    ) -> tuple[str | None, dict[cst.Call, tuple[str, list[cst.Arg], str, _ResponseUse]]]:
        calls: dict[cst.Call, tuple[str, list[cst.Arg], str, _ResponseUse]] = {}
        module = module_name_at(scope, self.library)
        if module is None:
            return f"the name `{self.library}` is bound to something else here", calls
        if maker.args:
            return "a Session() with arguments is unusual", calls
        if inside_sync_lock(self._statements, where.function):
            return "awaiting while a thread lock is held can deadlock the event loop", calls
        asname = node.items[0].asname
        if asname is None or not isinstance(asname.name, cst.Name):
            return "the session is not bound to a name", calls
        name = asname.name.value
        assignment = next(
            (a for a in scope.assignments[name] if getattr(a, "node", None) is asname.name), None
        )
        if not isinstance(assignment, Assignment):
            return "the session is not bound to a name", calls
        end = self._here(node)
        for ref in assignment.references:
            parent = self.get_metadata(ParentNodeProvider, ref.node, None)
            grand = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
            if len(ref.referents) > 1 or not _awaitable_in(ref.scope, scope):
                return f"`{name}` is also used elsewhere (another value, a nested function)", calls
            if not (
                isinstance(parent, cst.Attribute)
                and parent.attr.value in _REQUEST_METHODS
                and isinstance(grand, cst.Call)
                and grand.func is parent
            ):
                what = (
                    f"`{name}.{parent.attr.value}`" if isinstance(parent, cst.Attribute) else name
                )
                return f"{what} is used, not only its request methods", calls
            method = parent.attr.value
            mapped = self._map_arguments(method, grand, module.name)
            use = self._response_use(grand, scope)
            if mapped.reason or use.reason:
                return mapped.reason or use.reason, calls
            if use.read and end is not None:
                for r in use.references:
                    at = self._here(r)
                    if at is None or at.start.line > end.end.line:
                        return "aiohttp reads the body lazily; it is used after the session", calls
            calls[grand] = (name, mapped.args, method, use)
        awaited = [a for call, (*_, use) in calls.items() for a in (call, *use.awaited)]
        split = split_section(where.function, scope, node, *awaited)
        if split is not None:
            return split, calls
        inner = [t for t in m.findall(node.body, m.Try()) if isinstance(t, cst.Try)]
        for state in self._tries:
            if state.in_body and state.refusal:
                return state.refusal, calls
        for t in inner:
            refusal = self._handlers_refusal(t)
            if refusal:
                return refusal, calls
        return None, calls

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if original_node not in self._session_withs:
            return updated_node
        scope = self.get_metadata(ScopeProvider, original_node, None)
        module = self._client_module(scope) if scope is not None else None
        if module is None or scope is None:
            return updated_node
        item = original_node.items[0]
        remove_import_if_unused(self.context, scope, item.item.func)  # type: ignore[attr-defined]
        return updated_node.with_changes(
            asynchronous=cst.Asynchronous(),
            items=[updated_node.items[0].with_changes(item=self._client_expression(module))],
        )


AF206 = Rule(
    code="AF206",
    name="httpx-to-httpx2",
    summary="(opt-in: select AF206 by code) import httpx -> httpx2",
    why=(
        "httpx is no longer maintained (flake8-async's ASYNC127 flags it); httpx2 is its "
        "maintained successor with the same API, and Starlette 1.x's TestClient prefers it."
    ),
    fix=(
        "`import httpx` -> `import httpx2 as httpx` (every use keeps working unchanged), "
        "`import httpx as hx` -> `import httpx2 as hx`, `from httpx import X` -> `from httpx2 "
        "import X`. Imports of httpx's submodules are reported. Runs only when AF206 is "
        "selected by its code."
    ),
    before="import httpx\n\nclient = httpx.AsyncClient()\n",
    after="import httpx2 as httpx\n\nclient = httpx.AsyncClient()\n",
)


class HttpxToHttpx2(AsyncfixCodemod):
    """AF206, opt-in: the imports of httpx now name httpx2 (same API, maintained)."""

    NAME = "httpx-to-httpx2"
    FAMILY = "http_client"
    RULES = (AF206,)
    TRIGGERS = (b"httpx",)

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        # Opt-in, and only an import of httpx (or of its submodules) is rewritten or reported.
        return "AF206" in view.config.select and _imports(view.tree, "httpx")

    def screen(self, module: cst.Module) -> bool:
        return "AF206" in self.run.config.select  # opt-in: only when selected by its code

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        names = []
        for original, alias in zip(original_node.names, updated_node.names, strict=True):
            name = get_full_name_for_node(alias.name)
            if name is not None and name.startswith("httpx."):
                self.report(
                    original, "AF206", "import of httpx", reason="httpx's submodules are private"
                )
            if name != "httpx" or not self.report(original, "AF206", "import httpx -> httpx2"):
                names.append(alias)
                continue
            asname = alias.asname or cst.AsName(cst.Name("httpx"))
            names.append(alias.with_changes(name=cst.Name("httpx2"), asname=asname))
            self.require_package("httpx2")
        return updated_node.with_changes(names=names)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if updated_node.relative or updated_node.module is None:
            return updated_node
        name = get_full_name_for_node(updated_node.module)
        if name is not None and name.startswith("httpx."):
            self.report(
                original_node, "AF206", "import of httpx", reason="httpx's submodules are private"
            )
            return updated_node
        if name != "httpx" or not self.report(original_node, "AF206", "from httpx -> httpx2"):
            return updated_node
        self.require_package("httpx2")
        return updated_node.with_changes(module=cst.Name("httpx2"))


CODEMODS = (TimeSleep, BlockingCalls, RequestsToAsync, HttpxToHttpx2)
