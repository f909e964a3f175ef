"""The family's project-wide plans: factories and engines imported from another module
of the project, read on the project index (stdlib ast).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Literal

from asyncfix.codemods.db_session.names import (
    ASYNC_SESSIONMAKERS,
    ASYNC_SESSIONS,
    CREATE_ENGINE,
    DEPENDENCY_CALLEES,
    FRAMEWORK_CALLEES,
    MAKER_TAILS,
    MAKER_TOKEN,
    SESSIONMAKERS,
    SQLMODEL_CREATE_ENGINE,
    SYNC_SESSIONS,
    Kind,
    tails_of,
)
from asyncfix.codemods.shared.routes import ROUTE_METHODS
from asyncfix.index import (
    identifier_bytes,
    module_name,
    walk,
    walk_parents,
    words_of,
)

if TYPE_CHECKING:
    from asyncfix.config import Config
    from asyncfix.files import SourceFile
    from asyncfix.index import ModuleInfo, ProjectIndex


# -- the plan: factories imported from another module of the project -------------------------


# Whitespace, line continuations and comments between two tokens; and parentheses.
_SPACE = rb"(?:[\s\\]|#[^\r\n]*[\r\n])*"
_GAP = rb"(?:[\s()\\]|#[^\r\n]*[\r\n])*"
_IDENTIFIER = rb"[\w\x80-\xff]+"


def _calls_pattern(tails: frozenset[str]) -> re.Pattern[bytes]:
    """Bytes that may hold `x = [a.b.]<tail>(...)`, however laid out, or an import that
    renames a tail (`sessionmaker as make`): a module without them assigns no such call."""
    names = b"|".join(re.escape(tail.encode()) for tail in sorted(tails))
    return re.compile(
        rb"=" + _GAP + rb"(?:" + _IDENTIFIER + _GAP + rb"\." + _GAP + rb")*"
        rb"(?:" + names + rb")\b" + _GAP + rb"\(|(?:" + names + rb")\b" + _SPACE + rb"as\b"
    )


_MAKES_FACTORY = _calls_pattern(MAKER_TAILS)
_MAKES_SYNC = _calls_pattern(tails_of(CREATE_ENGINE | SQLMODEL_CREATE_ENGINE | SESSIONMAKERS))


def _modules_assigning(
    index: ProjectIndex, tokens: tuple[bytes, ...], pattern: re.Pattern[bytes]
) -> Iterator[ModuleInfo]:
    """The modules whose bytes hold one of `tokens`, as index.modules(*tokens) yields them,
    less those `pattern` shows to assign no such call: those are not parsed."""
    for file in index.files:
        data = index.data(file)
        if data is not None and any(t in data for t in tokens) and pattern.search(data):
            info = index.module(file)
            if info is not None:
                yield info


def session_plan(index: ProjectIndex, config: Config) -> dict[str, dict[str, str]]:
    """SessionCodemod's plan (its PLANNER): the factories each module imports."""
    return imported_factories(index)


def imported_factories(index: ProjectIndex) -> dict[str, dict[str, str]]:
    """display path -> {local name: kind} of the session factories a module imports from
    another module of the project, where they are plain module-level sessionmakers."""
    makers: dict[str, ModuleInfo | None] = {}
    for file in index.files:
        data = index.data(file)
        if data is None or MAKER_TOKEN not in data:
            continue
        if _MAKES_FACTORY.search(data):
            info = index.module(file)
            if info is not None:
                makers[info.name] = info
        elif makers.get(module_name(file.path)) is not None:
            # The last module of a name wins, if it parses; this one makes no factory.
            info = index.module(file)
            if info is not None:
                makers[info.name] = None
    names = {
        name
        for info in makers.values()
        if info is not None
        for name, (callee, _line) in info.assignments.items()
        if callee in SESSIONMAKERS | ASYNC_SESSIONMAKERS
    }
    if not names:
        return {}
    plans: dict[str, dict[str, str]] = {}
    for info in _mentioning(index, names):
        found: dict[str, str] = {}
        for local, qualified in info.imports.items():
            module, _, attr = qualified.rpartition(".")
            target = makers.get(module)
            if target is not None and target is not info:
                kind = _module_factory_kind(target, attr)
                if kind is not None:
                    found[local] = kind
        if found:
            plans[info.path] = found
    return plans


def _mentioning(
    index: ProjectIndex,
    names: set[str],
    *required: bytes,
    among: Collection[str] | None = None,
) -> Iterator[ModuleInfo]:
    """Modules whose bytes hold one of `names` and every `required` token: only those are
    parsed (the index keeps what it parses); with `among`, only those at these display
    paths."""
    encoded = [n.encode() for n in names]
    for file in index.files:
        if among is not None and file.display not in among:
            continue
        data = index.data(file)
        if data is None or not all(t in data for t in required):
            continue
        if any(n in data for n in encoded):
            info = index.module(file)
            if info is not None:
                yield info


def _module_factory_kind(info: ModuleInfo, name: str) -> Kind | Literal["unknown"] | None:
    """The kind of `name` in the module when its one binding is `name = sessionmaker(...)`;
    "unknown" when it is made by a sessionmaker in a way we cannot prove; else None."""
    made = [
        stmt.value
        for stmt in info.tree.body
        if isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
        and isinstance(stmt.value, ast.Call)
        and info.resolve(stmt.value.func) in SESSIONMAKERS | ASYNC_SESSIONMAKERS
    ]
    if not made:
        return None
    if _bindings(info, name) != 1 or len(made) != 1:
        return "unknown"
    call = made[0]
    kind: Kind = "async" if info.resolve(call.func) in ASYNC_SESSIONMAKERS else "sync"
    for keyword in call.keywords:
        if keyword.arg is None:
            return "unknown"  # **options could hold class_
        if keyword.arg == "class_":
            cls = info.resolve(keyword.value)
            if cls in ASYNC_SESSIONS:
                return "async"
            return "sync" if cls in SYNC_SESSIONS else "unknown"
    return kind


def _bindings(info: ModuleInfo, name: str) -> int:
    """How many times the module binds `name`, anywhere (over-counting is safe: we refuse)."""
    return sum(
        1
        for node in walk(info.tree)
        if (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store))
        or (isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name)
        or (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == name
        )
        or (isinstance(node, ast.Global | ast.Nonlocal) and name in node.names)
    )


def _sync_objects_defined(index: ProjectIndex) -> dict[str, dict[str, str]]:
    """module name -> {name: "engine" | "factory"}: the module-level sync engines and
    session factories of the project."""
    defined: dict[str, dict[str, str]] = {}
    # A module that assigns no engine or factory defines nothing: only the others count.
    for info in _modules_assigning(index, (b"create_engine", MAKER_TOKEN), _MAKES_SYNC):
        found: dict[str, str] = {}
        for name, (callee, _line) in info.assignments.items():
            if callee in CREATE_ENGINE | SQLMODEL_CREATE_ENGINE and _bindings(info, name) == 1:
                found[name] = "engine"
            elif callee in SESSIONMAKERS and _module_factory_kind(info, name) == "sync":
                found[name] = "factory"
        if found:
            defined[info.name] = found
    return defined


def imported_sync_objects(
    index: ProjectIndex, defined: dict[str, dict[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """display path -> {local name: "engine" | "factory"}: the sync engines and session
    factories an async module imports from another module of the project (AF404)."""
    if defined is None:
        defined = _sync_objects_defined(index)
    if not defined:
        return {}
    plans: dict[str, dict[str, str]] = {}
    names = {name for found in defined.values() for name in found}
    # (a run given some files reads their entries alone: each is the module's own)
    for info in _mentioning(index, names, b"async", among=index.given):
        imported: dict[str, str] = {}
        for local, qualified in info.imports.items():
            module, _, attr = qualified.rpartition(".")
            what = defined.get(module, {}).get(attr)
            if what is not None and module != info.name:
                imported[local] = what
        if imported:
            plans[info.path] = imported
    return plans


# -- AF404's plan: which async defs FastAPI calls, and which the project calls too -----------


def _callee_tail(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _framework_argument(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    """The callee tail when `node` is an argument of Depends/Security/add_api_route."""
    parent = parents.get(node)
    if isinstance(parent, ast.keyword):
        parent = parents.get(parent)
    if isinstance(parent, ast.Call) and parent.func is not node:
        tail = _callee_tail(parent)
        if tail in FRAMEWORK_CALLEES:
            return tail
    return None


# The words the classes of SYNC_SESSIONS end in.
_SYNC_SESSION_TAILS = sorted({name.rpartition(".")[2].encode() for name in SYNC_SESSIONS})
# `(?<!\w)(?:tail|...)(?!\w)`, each tail's lookbehind after it: a pattern that starts with
# literals lets the regex engine skip to their first characters (30x faster on polar).
_SYNC_SESSION_WORD = re.compile(
    rb"(?:"
    + b"|".join(re.escape(w) + rb"(?<!\w" + re.escape(w) + rb")" for w in _SYNC_SESSION_TAILS)
    + rb")(?!\w)"
)


def _sync_providers(
    index: ProjectIndex, defined: dict[str, dict[str, str]], among: Collection[str] | None = None
) -> set[str]:
    """The qualified names of the module-level functions that hand out a sync Session
    (`get_db` yielding or returning `SessionLocal()` or `Session(engine)`, or annotated so):
    a parameter `db=Depends(get_db)` receives one, annotated or not. With `among`, only
    those of these qualified names (each function is judged on its own)."""
    found: set[str] = set()
    owners = None if among is None else {name.rpartition(".")[0] for name in among}
    for info in index.modules(b"Session", MAKER_TOKEN):
        if owners is not None and info.name not in owners:
            continue
        factories = {
            local
            for local, qualified in info.imports.items()
            if defined.get(qualified.rpartition(".")[0], {}).get(qualified.rpartition(".")[2])
            == "factory"
        }
        factories |= {n for n, kind in defined.get(info.name, {}).items() if kind == "factory"}
        if not factories and not _SYNC_SESSION_WORD.search(identifier_bytes(info.data)):
            # A session class it resolves is spelled in it (an AsyncSession is not one):
            # without one, or a factory, nothing hands out a session. No tree needed.
            continue
        for stmt in info.tree.body:
            if (
                isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                and (among is None or f"{info.name}.{stmt.name}" in among)
                and _hands_out_session(info, stmt, factories)
            ):
                found.add(f"{info.name}.{stmt.name}")
    return found


def _hands_out_session(
    info: ModuleInfo, function: ast.FunctionDef | ast.AsyncFunctionDef, factories: set[str]
) -> bool:
    def sync_session(node: ast.expr | None) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        return (isinstance(func, ast.Name) and func.id in factories) or (
            info.resolve(func) in SYNC_SESSIONS
        )

    if function.returns is not None and any(
        isinstance(node, ast.Name | ast.Attribute) and info.resolve(node) in SYNC_SESSIONS
        for node in ast.walk(function.returns)
    ):
        return True
    made: set[str] = set()
    handed: list[ast.expr] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and sync_session(node.value):
            made |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.With):
            made |= {
                item.optional_vars.id
                for item in node.items
                if isinstance(item.optional_vars, ast.Name) and sync_session(item.context_expr)
            }
        elif isinstance(node, ast.Yield | ast.Return) and node.value is not None:
            handed.append(node.value)
    return any(
        sync_session(value) or (isinstance(value, ast.Name) and value.id in made)
        for value in handed
    )


# `from . import x`, `from .. import x`: a relative import of a package's own names.
_FROM_PACKAGE = re.compile(rb"from(?<!\wfrom)[\s\\]*(?:\.[\s\\]*)+import\b")  # (`\bfrom...`)


def _may_use(
    index: ProjectIndex,
    candidates: dict[str, tuple[ModuleInfo, str]],
    methods: dict[str, list[str]],
) -> Callable[[SourceFile, bytes, set[str]], bool] | None:
    """Whether a module naming some of the candidates' names (`found`) may use one, told
    from its bytes before it is parsed. A use resolves to a candidate whose name the
    module spells (in the use or in its import), through an import that spells the last
    part of the candidate's module name too (a file's stem or package: the layout keeps
    it), through `from . import name` (of a package's own), or in a module of that name.
    A method may be any `self.name` or awaited `x.name`: a module naming one is parsed."""
    owners = {owner.name for owner, _ in candidates.values()}
    # `from . import name` spells no module: it may name a package's own function.
    packages = any(owner.file.path.name == "__init__.py" for owner, _ in candidates.values())
    stems: dict[str, set[bytes]] = {}  # a candidate's name -> its modules' last parts
    for qualname, (owner, _) in candidates.items():
        stem = owner.name.rpartition(".")[2]
        if not stem.isascii():
            return None  # (a file's name need not be as Python reads an identifier)
        stems.setdefault(qualname.rpartition(".")[2], set()).add(stem.encode())

    def may_use(file: SourceFile, data: bytes, found: set[str]) -> bool:
        if not found.isdisjoint(methods) or module_name(file.path) in owners:
            return True
        text = identifier_bytes(data)
        if packages and _FROM_PACKAGE.search(text) is not None:
            return True
        wanted = {stem for name in found for stem in stems.get(name, ())}
        # (an ASCII source's words are those `naming` has just found)
        words = index.words(file, data) if data.isascii() else words_of(text)
        return not wanted.isdisjoint(words)

    return may_use


# A dot between the parts of a dotted name as written.
_DOT = _GAP + rb"\." + _GAP


def _may_resolve(
    candidates: dict[str, tuple[ModuleInfo, str]], methods: dict[str, list[str]]
) -> Callable[[ModuleInfo, set[str]], bool]:
    """Whether a module naming some of the candidates' names (`found`) may hold a Name or
    an attribute that resolves to one of them, told from its facts (see
    ModuleInfo.resolve): a name imported as the candidate or as a prefix of it, one of its
    own top-level names that prefixes it, or the candidate spelled out in full from an
    unbound head. A method may be any `self.name` or awaited `x.name`."""
    by_name: dict[str, list[str]] = {}
    for qualname in candidates:
        by_name.setdefault(qualname.rpartition(".")[2], []).append(qualname)
    spelled: dict[str, re.Pattern[bytes]] = {}

    def may_resolve(info: ModuleInfo, found: set[str]) -> bool:
        if not found.isdisjoint(methods):
            return True
        wanted = [q for name in sorted(found) for q in by_name.get(name, ())]
        prefixes = [*info.imports.values(), *(f"{info.name}.{t}" for t in info.toplevel)]
        text: bytes | None = None
        for qualname in wanted:
            if any(qualname == p or qualname.startswith(p + ".") for p in prefixes):
                return True
            head = qualname.partition(".")[0]
            if head in info.imports or head in info.toplevel:
                continue  # (resolved through them: no prefix above)
            pattern = spelled.get(qualname)
            if pattern is None:
                # (No look-behind before the head: a pattern that starts with its literal
                # is searched for that literal first, many times faster.)
                parts = [re.escape(part.encode()) for part in qualname.split(".")]
                pattern = spelled[qualname] = re.compile(_DOT.join(parts) + rb"\b")
            text = identifier_bytes(info.data) if text is None else text
            if pattern.search(text) is not None:
                return True
        return False

    return may_resolve


def _names(value: object) -> list[str]:
    return value if isinstance(value, list) else []


def sync_def_plan(index: ProjectIndex) -> dict[str, dict[str, object]]:
    """display path -> AF404's facts for the module there: `imported` (see
    imported_sync_objects), `dependencies` (its top-level functions that a Depends() or
    Security() of the project names) and `used` ("func" or "Class.method" -> where the
    project uses it other than through FastAPI: a caller that may await it)."""
    plans: dict[str, dict[str, object]] = {}
    defined = _sync_objects_defined(index)
    for path, imported in imported_sync_objects(index, defined).items():
        plans.setdefault(path, {})["imported"] = imported
    # The functions FastAPI calls as dependencies, wherever the Depends() is written.
    # (the index has their calls: no tree is parsed or walked for them)
    depending = list(index.modules(*(c.encode() for c in sorted(DEPENDENCY_CALLEES))))
    # (a run given some files reads their entries alone: only the providers those name)
    named = None
    if index.given is not None:
        named = {
            dependency
            for info in depending
            if not index.outside(info.path)
            for dependency, _ in info.dependency_calls
        }
    providers = _sync_providers(index, defined, named)
    # Only async defs are AF404's: the modules without one need not be parsed.
    by_name = {info.name: info for info in index.modules(b"async def")}
    for info in depending:
        for dependency, spelled in info.dependency_calls:
            if dependency in providers and not index.outside(info.path):
                # A Depends() of a function that hands out a sync Session, as written here.
                entry = plans.setdefault(info.path, {})
                written = entry.setdefault("providers", {})
                assert isinstance(written, dict)
                written[spelled] = dependency.rpartition(".")[2]
            module, _, name = dependency.rpartition(".")
            owner = by_name.get(module)
            if owner is not None and dependency in owner.functions:
                entry = plans.setdefault(owner.path, {})
                names = entry.setdefault("dependencies", [])
                assert isinstance(names, list)
                if name not in names:
                    names.append(name)
    # The candidates: never-awaiting async path operations and dependencies at module
    # level or in a top-level class (a class-based view's).
    depended = {
        f"{info.name}.{name}"
        for info in by_name.values()
        for name in _names(plans.get(info.path, {}).get("dependencies"))
    }
    candidates: dict[str, tuple[ModuleInfo, str]] = {}  # qualname -> (module, key)
    for info in by_name.values():
        # A run given some files reads their entries alone, and a candidate's uses go in
        # its own module's: the others' are not looked for (the tests of a module's bytes
        # and facts below hold for each candidate alone).
        if index.outside(info.path):
            continue
        for function in info.functions.values():
            key = function.qualname.removeprefix(info.name + ".")
            routed = any(d.rpartition(".")[2] in ROUTE_METHODS for d in function.decorators)
            if (
                function.is_async
                and not function.awaits
                and key.count(".") <= 1
                and (routed or function.qualname in depended)
            ):
                candidates[function.qualname] = (info, key)
    names = {qualname.rpartition(".")[2] for qualname in candidates}
    methods: dict[str, list[str]] = {}  # method name -> the candidate methods so named
    for qualname, (_, key) in candidates.items():
        if "." in key:
            methods.setdefault(key.rpartition(".")[2], []).append(qualname)
    resolves = _may_resolve(candidates, methods)
    for info, found in index.naming(names, where=_may_use(index, candidates, methods)):
        if not resolves(info, found):
            continue  # (told from its facts: its tree is not parsed)
        # The parents only once a use of a candidate needs them: most names found are not.
        parents: dict[ast.AST, ast.AST] | None = None
        for node in walk(info.tree):
            if isinstance(node, ast.Name) and node.id in found:
                if isinstance(node.ctx, ast.Store):
                    continue  # a binding, not a use (the def itself is no Name)
                used = [info.resolve(node)]
            elif isinstance(node, ast.Attribute) and node.attr in found:
                used = [info.resolve(node)]
                # A method: through self/cls, or any awaited call of its name.
                head = node.value
                if node.attr in methods:
                    if parents is None:
                        parents = walk_parents(info.tree)[1]
                    awaited = isinstance(parents.get(parents.get(node, node)), ast.Await)
                    if awaited or (isinstance(head, ast.Name) and head.id in {"self", "cls"}):
                        used += methods[node.attr]
            else:
                continue
            if not any(qualified in candidates for qualified in used):
                continue
            if parents is None:
                parents = walk_parents(info.tree)[1]
            if _framework_argument(node, parents):
                continue
            for qualified in used:
                if qualified in candidates:
                    owner, key = candidates[qualified]
                    uses = plans.setdefault(owner.path, {}).setdefault("used", {})
                    assert isinstance(uses, dict)
                    uses.setdefault(key, f"{info.path}:{node.lineno}")
    return plans
