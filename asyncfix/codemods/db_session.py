"""Family `db_session` (AF4xx): SQLAlchemy sessions that leak, never commit, or block.

AF402 hoists a session factory built on every call to module level; AF401 turns a session
dependency that only closes its session into a transactional scope (commit on success,
rollback and re-raise on error, close guaranteed); AF403 gives code outside requests a
context-manager twin of that dependency; AF404 reports sync sessions in async endpoints.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    BuiltinAssignment,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix import syntax
from asyncfix.codemods.base import (
    AsyncfixCodemod,
    FileRun,
    Rule,
    SourceView,
    child_nodes,
    function_defs,
)
from asyncfix.codemods.critical import split_section
from asyncfix.codemods.helpers import ROUTE_METHODS, remove_import_if_unused, route_decorator
from asyncfix.config import Config, ConfigError
from asyncfix.index import children, fields_of, module_name, walk, walk_statements
from asyncfix.versions import FASTAPI_EXIT_BEFORE_RESPONSE, missing

if TYPE_CHECKING:
    from asyncfix.index import ModuleInfo, ProjectIndex

FAMILY = "db_session"
Kind = Literal["sync", "async"]

# Qualified names as libcst resolves them from the imports a file writes.
_SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
_ASYNC_SESSIONMAKERS = frozenset(
    {
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)
_SYNC_SESSIONS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
    }
)
_ASYNC_SESSIONS = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
_CREATE_ENGINE = frozenset({"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"})
_SQLMODEL_CREATE_ENGINE = frozenset({"sqlmodel.create_engine"})
_DEPENDS = frozenset({"fastapi.Depends", "fastapi.param_functions.Depends"})
_CONTEXT_MANAGERS: Mapping[Kind, str] = {
    "async": "asynccontextmanager",
    "sync": "contextmanager",
}
TWIN = "get_db_session"


# -- options -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    commit_on_exit: bool = True


def family_options(config: Config) -> Options:
    """`[tool.asyncfix.db_session]`, validated: unknown keys and wrong types are errors."""
    raw = config.family_options(FAMILY)
    where = f"{config.source}: " if config.source else ""
    options = Options()
    for key, value in raw.items():
        if key == "commit-on-exit":
            if not isinstance(value, bool):
                raise ConfigError(
                    f"{where}[tool.asyncfix.db_session] commit-on-exit must be true or false, "
                    f"not {value!r}"
                )
            options = Options(commit_on_exit=value)
        else:
            raise ConfigError(
                f"{where}[tool.asyncfix.db_session]: unknown key {key!r} (known: commit-on-exit)"
            )
    return options


# -- rules ---------------------------------------------------------------------------------

AF401 = Rule(
    code="AF401",
    name="session-dependency-only-closes",
    summary="session dependency that only closes its session -> transactional scope",
    why=(
        "The tutorial's `db = SessionLocal(); try: yield db; finally: db.close()` never "
        "commits and never rolls back explicitly: work an endpoint forgets to commit is "
        "silently discarded, and an error leaves the rollback to close()."
    ),
    fix=(
        "`with`/`async with Factory() as db:` around `try: yield db; commit` and "
        "`except Exception: rollback; raise`: committed on success, rolled back and "
        "re-raised on error, closed on every path. The function keeps its name and "
        "signature, so Depends(get_db) and dependency_overrides keep working. "
        "`[tool.asyncfix.db_session] commit-on-exit = false` leaves the commit out. "
        "FastAPI runs a dependency's code after `yield` once the response is sent, so a "
        "failing commit is not reported to that client; an endpoint that must report it "
        'commits itself or uses Depends(get_db, scope="function") (recent FastAPI); so '
        "the commit is added only where every FastAPI version the project declares runs "
        "that code before the response is sent (0.106 to 0.117), or none is declared. Not "
        "rewritten: a factory not provably a sessionmaker or Session class, extra "
        "statements, the yield inside another block, a session already committed by hand. "
        "Not reported: a dependency that opens its session with `with`/`async with` (it is "
        "closed on every path, and a commit added after `yield` would move the transaction "
        "boundary of a project that commits itself), and a `session` with no evidence of "
        "being SQLAlchemy's or SQLModel's (a module that imports neither, an aiohttp or "
        "httpx session)."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    db = SessionLocal()\n"
        "    try:\n"
        "        yield db\n"
        "    finally:\n"
        "        await db.close()\n"
    ),
    after=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
    ),
)

AF402 = Rule(
    code="AF402",
    name="session-factory-per-call",
    summary="sessionmaker built on every call -> module level, created once",
    why=(
        "A sessionmaker built inside a dependency is rebuilt for every request; async "
        "factories left with expire_on_commit=True expire every object at commit, so the "
        "next attribute access does implicit I/O, which fails under asyncio."
    ),
    fix=(
        "The factory moves to module level, just above the function, under the same name; "
        "async factories get expire_on_commit=False. Not hoisted: a factory whose arguments "
        "use names that exist only in the function (a per-call engine), or call anything."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "from app.config import engine\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    SessionLocal = async_sessionmaker(engine)\n"
        "    async with SessionLocal() as db:\n"
        "        yield db\n"
    ),
    after=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "from app.config import engine\n"
        "\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        yield db\n"
    ),
)

AF403 = Rule(
    code="AF403",
    name="session-outside-request",
    summary="session opened by hand outside a request -> get_db_session() context manager",
    why=(
        "Background jobs and scripts that open a session by hand repeat the commit, "
        "rollback and close logic, usually incompletely. A request-scoped session handed "
        "to BackgroundTasks.add_task() is closed by its dependency before the task runs."
    ),
    fix=(
        "An @asynccontextmanager (or @contextmanager) `get_db_session()` with the same "
        "transactional scope as the dependency is generated beside it, and each "
        "`db = Factory(); try: ... finally: db.close()` in the module becomes "
        "`async with get_db_session() as db: ...` (which also commits on success unless "
        "commit-on-exit = false). A session passed to add_task() is reported."
    ),
    before=(
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
        "\n"
        "\n"
        "async def purge_expired():\n"
        "    db = SessionLocal()\n"
        "    try:\n"
        "        await db.execute(DELETE_EXPIRED)\n"
        "    finally:\n"
        "        await db.close()\n"
    ),
    after=(
        "from contextlib import asynccontextmanager\n"
        "\n"
        "from sqlalchemy.ext.asyncio import async_sessionmaker\n"
        "\n"
        "SessionLocal = async_sessionmaker(engine, expire_on_commit=False)\n"
        "\n"
        "\n"
        "async def get_db():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
        "\n"
        "\n"
        "@asynccontextmanager\n"
        "async def get_db_session():\n"
        "    async with SessionLocal() as db:\n"
        "        try:\n"
        "            yield db\n"
        "            await db.commit()\n"
        "        except Exception:\n"
        "            await db.rollback()\n"
        "            raise\n"
        "\n"
        "\n"
        "async def purge_expired():\n"
        "    async with get_db_session() as db:\n"
        "        await db.execute(DELETE_EXPIRED)\n"
    ),
)

AF404 = Rule(
    code="AF404",
    name="sync-session-in-async",
    summary="sync Session / create_engine in an async path operation (report only)",
    why=(
        "A sync Session does its I/O on the calling thread; in an async def path operation "
        "that thread is the event loop's, so every query stalls every other request."
    ),
    fix=(
        "Migrate to the async stack: create_async_engine with an async driver URL "
        "(postgresql+asyncpg://, sqlite+aiosqlite://), async_sessionmaker and AsyncSession "
        "with awaited calls; or make the path operation a plain def so that FastAPI runs "
        "it in its threadpool. Reported only: the migration touches every query."
    ),
    before=(
        "from fastapi import Depends, FastAPI\n"
        "from sqlalchemy.orm import Session\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/items")\n'
        "async def items(db: Session = Depends(get_db)):\n"
        "    return db.query(Item).all()\n"
    ),
    after=(
        "from fastapi import Depends, FastAPI\n"
        "from sqlalchemy.orm import Session\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/items")\n'
        "async def items(db: Session = Depends(get_db)):\n"
        "    return db.query(Item).all()\n"
    ),
)


# -- small tree helpers ----------------------------------------------------------------------

_EMPTY = cst.Module([])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


# Exact types (no subclasses): libcst's node classes are ABCs, slow under `isinstance`.
_NESTED_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


def own_nodes(function: cst.FunctionDef) -> list[cst.CSTNode]:
    """The nodes of a function's own body, in source order: nested functions, classes
    and lambdas are in it, what is below them is not."""
    nodes: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = list(reversed(_statements(function)))
    while stack:
        node = stack.pop()
        nodes.append(node)
        if type(node) not in _NESTED_SCOPES:
            stack.extend(reversed(child_nodes(node)))
    return nodes


def _statements(function: cst.FunctionDef) -> Sequence[cst.BaseStatement]:
    body = function.body
    if isinstance(body, cst.IndentedBlock):
        return body.body
    assert isinstance(body, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=list(body.body))]


def _comments(nodes: Sequence[cst.CSTNode]) -> Counter[str]:
    return Counter(
        c.value
        for node in nodes
        for c in m.findall(node, m.Comment())
        if isinstance(c, cst.Comment)
    )


def _loses_comments(old: Sequence[cst.CSTNode], new: Sequence[cst.CSTNode]) -> bool:
    return bool(_comments(old) - _comments(new))


def _docstring_split(
    statements: Sequence[cst.BaseStatement],
) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
    if statements and m.matches(
        statements[0],
        m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())]),
    ):
        return [statements[0]], list(statements[1:])
    return [], list(statements)


def _single_expr(stmt: cst.BaseStatement) -> cst.BaseExpression | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
    ):
        return stmt.body[0].value
    return None


def _single_assign(stmt: cst.BaseStatement) -> tuple[str, cst.Call] | None:
    """`name = call(...)` or `name: T = call(...)` as one statement line."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    assign = stmt.body[0]
    if (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and isinstance(assign.value, cst.Call)
    ):
        return assign.targets[0].target.value, assign.value
    if (
        isinstance(assign, cst.AnnAssign)
        and isinstance(assign.target, cst.Name)
        and isinstance(assign.value, cst.Call)
    ):
        return assign.target.value, assign.value
    return None


def _is_method_call(expr: cst.BaseExpression | None, name: str, method: str) -> bool:
    return expr is not None and m.matches(
        expr, m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name(method)), args=[])
    )


def _close_call(stmt: cst.BaseStatement, name: str, kind: Kind) -> bool:
    """`name.close()` (sync) or `await name.close()` (async), as the whole statement."""
    expr = _single_expr(stmt)
    if kind == "async":
        return isinstance(expr, cst.Await) and _is_method_call(expr.expression, name, "close")
    return _is_method_call(expr, name, "close")


def _yields_name(stmt: cst.BaseStatement, name: str) -> bool:
    expr = _single_expr(stmt)
    return (
        isinstance(expr, cst.Yield)
        and isinstance(expr.value, cst.Name)
        and expr.value.value == name
    )


def _method_calls_on(nodes: Sequence[cst.CSTNode], name: str) -> set[str]:
    """Methods called on `name` (`name.commit()` -> "commit")."""
    return {
        node.func.attr.value
        for node in nodes
        if isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and m.matches(node.func.value, m.Name(name))
    }


def _block_lines(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(block, cst.IndentedBlock):
        return block.body
    assert isinstance(block, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=list(block.body))]


def _leading_empties(
    lines: Sequence[cst.EmptyLine],
) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """Split leading lines into the blank ones before the first comment and the rest."""
    for i, line in enumerate(lines):
        if line.comment is not None:
            return list(lines[:i]), list(lines[i:])
    return list(lines), []


def transactional_with(
    with_node: cst.With,
    name: str,
    kind: Kind,
    yield_stmt: cst.BaseStatement,
    commit: bool,
    config: cst.PartialParserConfig,
    try_header: cst.TrailingWhitespace | None = None,
) -> cst.With:
    """`with_node` whose body becomes try: yield; [commit] / except Exception: rollback; raise.

    The `with` line keeps its own end of line (and comment); `try_header` is the end of
    the `try:` line, to keep a comment the old `try:` had."""
    aw = "await " if kind == "async" else ""
    lines = ["try:", "    yield __session__"]
    if commit:
        lines.append(f"    {aw}{name}.commit()")
    lines += ["except Exception:", f"    {aw}{name}.rollback()", "    raise"]
    newline = config.default_newline if isinstance(config.default_newline, str) else "\n"
    indent = config.default_indent if isinstance(config.default_indent, str) else "    "
    text = newline.join(line.replace("    ", indent) for line in lines) + newline
    parsed = cst.parse_statement(text, config=config)
    assert isinstance(parsed, cst.Try) and isinstance(parsed.body, cst.IndentedBlock)
    body = [yield_stmt, *parsed.body.body[1:]]
    parsed = parsed.with_changes(
        body=parsed.body.with_changes(body=body, header=try_header or parsed.body.header)
    )
    block = with_node.body
    if isinstance(block, cst.IndentedBlock):
        return with_node.with_changes(body=block.with_changes(body=[parsed]))
    assert isinstance(block, cst.SimpleStatementSuite)
    return with_node.with_changes(
        body=cst.IndentedBlock(body=[parsed], header=block.trailing_whitespace)
    )


def _with_statement(
    factory_call: cst.Call, name: str, kind: Kind, config: cst.PartialParserConfig
) -> cst.With:
    text = f"{'async ' if kind == 'async' else ''}with __factory__() as {name}:\n    pass\n"
    parsed = cst.parse_statement(text, config=config)
    assert isinstance(parsed, cst.With)
    item = parsed.items[0].with_changes(item=factory_call)
    return parsed.with_changes(items=[item])


def _is_fixed_scope(stmt: cst.BaseStatement, name: str | None = None) -> str | None:
    """The session name when `stmt` is `[async] with F() as s: try: yield s ... except
    Exception: [await] s.rollback(); raise` (the form AF401 writes)."""
    if not isinstance(stmt, cst.With) or len(stmt.items) != 1:
        return None
    asname = stmt.items[0].asname
    if asname is None or not isinstance(asname.name, cst.Name):
        return None
    session = asname.name.value
    if name is not None and session != name:
        return None
    inner = _block_lines(stmt.body)
    if len(inner) != 1 or not isinstance(inner[0], cst.Try):
        return None
    tried = inner[0]
    kind: Kind = "async" if stmt.asynchronous else "sync"
    body = _block_lines(tried.body)
    if not body or not _yields_name(body[0], session) or len(body) > 2:
        return None
    if len(body) == 2:
        commit = _single_expr(body[1])
        if kind == "async":
            commit = commit.expression if isinstance(commit, cst.Await) else None
        if not _is_method_call(commit, session, "commit"):
            return None
    if tried.orelse is not None or tried.finalbody is not None or len(tried.handlers) != 1:
        return None
    handler = tried.handlers[0]
    handled = _block_lines(handler.body)
    rollback = _single_expr(handled[0]) if handled else None
    if kind == "async":
        rollback = rollback.expression if isinstance(rollback, cst.Await) else None
    if (
        not isinstance(handler.type, cst.Name)
        or handler.type.value != "Exception"
        or handler.name is not None
        or len(handled) != 2
        or not _is_method_call(rollback, session, "rollback")
        or not m.matches(handled[1], m.SimpleStatementLine(body=[m.Raise(exc=None)]))
    ):
        return None
    return session


# -- screens on the stdlib ast: could a pass change or report anything here? ---------------
#
# Conservative: False promises that the pass would neither change nor report anything, so
# each check accepts every shape the pass acts on, and a little more. Cheap tests on the
# bytes come first: most files are never walked.

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _tails(qualified: Iterable[str]) -> frozenset[str]:
    return frozenset(q.rpartition(".")[2] for q in qualified)


_MAKER_TAILS = _tails(_SESSIONMAKERS | _ASYNC_SESSIONMAKERS)
_SESSION_TAILS = _tails(_SYNC_SESSIONS | _ASYNC_SESSIONS)
_SYNC_TAILS = _tails(_SYNC_SESSIONS | _CREATE_ENGINE | _SQLMODEL_CREATE_ENGINE | _SESSIONMAKERS)
_DEPENDS_TAILS = _tails(_DEPENDS)
# The packages those names come from: a module-level binding of one of these names (a
# class `sqlalchemy`...) gives local names the same qualified names.
_HEADS = frozenset(
    q.partition(".")[0]
    for q in _SESSIONMAKERS | _ASYNC_SESSIONMAKERS | _SYNC_SESSIONS | _ASYNC_SESSIONS | _DEPENDS
)
# What the AF401-AF403 pass starts from: a `yield name`, a close()/add_task() call, a
# sessionmaker. A file without one is left alone, even with a session opened by hand.
_SCREEN_METHODS = frozenset({"close", "add_task"}) | _MAKER_TAILS


@dataclass
class _Own:
    """What a function's own body (as own_nodes() sees it) holds for the screens."""

    yielded: set[str] = field(default_factory=set)  # `yield name`
    made: list[tuple[ast.expr, ast.Call]] = field(default_factory=list)  # `x = F()`, `as x`
    calls: list[ast.Call] = field(default_factory=list)


@dataclass
class _Facts:
    """What the screens need from a module's stdlib ast, gathered in one walk."""

    shapes: bool = False  # one of the shapes the AF401-AF403 pass starts from
    aliases: list[ast.alias] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)  # names bound by imports
    heads: bool = False  # a class named like one of _HEADS: then any name may resolve
    functions: dict[FunctionNode, _Own] = field(default_factory=dict)
    calls: list[ast.Call] = field(default_factory=list)
    made: list[tuple[ast.expr, ast.Call]] = field(default_factory=list)  # `x = call(...)`


# Both codemods screen the same tree, one after the other: walk it once.
_last_facts: tuple[ast.Module, _Facts] | None = None


def _is_route(node: ast.AST) -> bool:
    """An async path operation: `@<router>.get(...)` and the like on an async def."""
    return isinstance(node, ast.AsyncFunctionDef) and any(
        route_decorator(d) for d in node.decorator_list
    )


def _facts(tree: ast.Module) -> _Facts:
    global _last_facts
    if _last_facts is not None and _last_facts[0] is tree:
        return _last_facts[1]
    facts = _Facts()
    # Each node with the function whose own body it is in: own_nodes() enters neither
    # nested functions (they have their own) nor classes and lambdas.
    stack: list[tuple[ast.AST, _Own | None]] = [(tree, None)]
    while stack:
        node, own = stack.pop()
        if isinstance(node, FunctionNode):
            inner = facts.functions[node] = _Own()
            for name in fields_of(type(node)):
                value = getattr(node, name, None)
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, ast.AST):
                        stack.append((child, inner if name == "body" else None))
            continue
        if isinstance(node, ast.Call):
            facts.calls.append(node)
            if own is not None:
                own.calls.append(node)
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in _SCREEN_METHODS) or (
                isinstance(func, ast.Name) and func.id in _MAKER_TAILS
            ):
                facts.shapes = True
        elif isinstance(node, ast.Yield):
            if isinstance(node.value, ast.Name):
                facts.shapes = True
                if own is not None:
                    own.yielded.add(node.value.id)
        elif isinstance(node, ast.alias):
            facts.aliases.append(node)
            facts.imported.add(node.asname or node.name.partition(".")[0])
            facts.shapes = facts.shapes or node.name in _MAKER_TAILS
        elif isinstance(node, ast.ClassDef):
            facts.heads = facts.heads or node.name in _HEADS
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            if isinstance(node.value, ast.Call):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                made = [(target, node.value) for target in targets]
                facts.made += made
                if own is not None:
                    own.made += made
        elif isinstance(node, ast.With | ast.AsyncWith) and own is not None:
            own.made += [
                (item.optional_vars, item.context_expr)
                for item in node.items
                if item.optional_vars is not None and isinstance(item.context_expr, ast.Call)
            ]
        if isinstance(node, ast.ClassDef | ast.Lambda):
            own = None
        stack += [(child, own) for child in children(node)]
    _last_facts = (tree, facts)
    return facts


class _Names:
    """Could libcst's QualifiedNameProvider name an expression with a qualified name that
    ends in one of `tails`? Only through an import, as it resolves names: `x.Session` when
    `x` is imported, `S` when an import binds it to a `...Session`."""

    def __init__(self, facts: _Facts, tails: frozenset[str]) -> None:
        self.tails = tails
        self.names = {
            a.asname or a.name for a in facts.aliases if a.name.rpartition(".")[2] in tails
        }
        self.heads: set[str] | None = facts.imported | _HEADS
        if facts.heads:  # class sqlalchemy: class orm: ... names nested classes like that
            self.names |= tails
            self.heads = None

    def may_name(self, node: ast.expr) -> bool:
        # As libcst does, a call is named by its callee and a subscript by its value.
        while isinstance(node, ast.Call | ast.Subscript):
            node = node.func if isinstance(node, ast.Call) else node.value
        if isinstance(node, ast.Name):
            return node.id in self.names
        if isinstance(node, ast.Attribute):
            return node.attr in self.tails and (self.heads is None or _head(node) in self.heads)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return any(name in node.value for name in self.names)  # an annotation
        return False


def _head(node: ast.expr) -> str | None:
    """The first name of libcst's full name for `node` (`a` for `a().b[0].c`)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _says_session(call: ast.Call) -> bool:
    """Could the code of the callee, as written, hold "session" (_session_like)?"""
    func = call.func
    if func.lineno != func.end_lineno or (func.lineno, func.col_offset) != (
        call.lineno,
        call.col_offset,
    ):
        return True  # parenthesized or over lines: comments may be part of its code
    text = ast.unparse(func)
    return not text.isascii() or "session" in text.lower()


def _session_sites(tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
    """Could SessionCodemod (AF401-AF403) change or report anything in this module?"""
    hoist, scope, twin = ("AF402" in enabled, "AF401" in enabled, "AF403" in enabled)
    if plan:
        # It imports a session factory from the project.
        return (hoist or scope or twin) and _facts(tree).shapes
    # Every site names a session, a Session class or a sessionmaker somewhere.
    if b"session" not in source.lower():
        return False
    hoist = hoist and b"essionmaker" in source
    sites = twin and (b"Session" in source or b"essionmaker" in source)
    scope = scope and b"yield" in source
    handed = twin and b"add_task" in source and b"Depends" in source
    if not (hoist or sites or scope or handed):
        return False
    facts = _facts(tree)
    if not facts.shapes:
        return False
    makers = _Names(facts, _MAKER_TAILS)
    # Names bound to a sessionmaker(...): factory() and _session_like() follow them.
    factories = {
        target.id
        for target, call in facts.made
        if isinstance(target, ast.Name) and makers.may_name(call.func)
    }
    sessions = _Names(facts, _SESSION_TAILS)

    def factory(func: ast.expr) -> bool:
        return sessions.may_name(func) or (isinstance(func, ast.Name) and func.id in factories)

    def session_like(call: ast.Call) -> bool:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "begin":
            return False
        return factory(call.func) or _says_session(call)

    for function, own in facts.functions.items():
        if hoist and any(makers.may_name(call.func) for call in own.calls):
            return True  # AF402: a factory built in a function
        if sites and any(
            isinstance(stmt, ast.Assign | ast.AnnAssign)
            and isinstance(stmt.value, ast.Call)
            and factory(stmt.value.func)
            for stmt in function.body
        ):
            return True  # AF403: `db = Factory()` opened by hand
        if scope and any(
            isinstance(target, ast.Name) and target.id in own.yielded and session_like(call)
            for target, call in own.made
        ):
            return True  # AF401: a dependency that yields the session it makes
    # AF403: a session parameter (Depends) handed to BackgroundTasks.add_task().
    depends = _Names(facts, _DEPENDS_TAILS)
    return (
        handed
        and any(
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "add_task"
            and any(
                isinstance(arg.value if isinstance(arg, ast.Starred) else arg, ast.Name)
                for arg in [*call.args, *(k.value for k in call.keywords)]
            )
            for call in facts.calls
        )
        and any(depends.may_name(call.func) for call in facts.calls)
    )


def _sync_session_sites(
    tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]
) -> bool:
    """Could SyncSessionInAsync (AF404) report anything? Only in an async path operation,
    and only with a sync Session, create_engine or sessionmaker named in the module (or
    one imported from the project)."""
    if "AF404" not in enabled:
        return False
    if not plan and not any(tail.encode() in source for tail in _SYNC_TAILS):
        return False
    # From the statements alone: most modules have no route, and the facts walk every
    # expression.
    if not any(_is_route(stmt) for stmt in walk_statements(tree.body)):
        return False
    facts = _facts(tree)
    if plan:
        return True
    names = _Names(facts, _SYNC_TAILS)
    return any(
        isinstance(node, ast.Name | ast.Attribute | ast.Constant) and names.may_name(node)
        for node in walk(tree)
    )


# -- the shared analysis: what is a session factory here? ----------------------------------

# Libraries whose "sessions" are not database sessions (asyncfix's HTTP clients).
_OTHER_SESSIONS = frozenset({"aiohttp", "httpx", "httpx2", "requests"})


def _imported_modules(node: cst.CSTNode) -> list[str]:
    """The absolute modules an import statement names."""
    if isinstance(node, cst.Import):
        return [get_full_name_for_node(alias.name) or "" for alias in node.names]
    if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
        return [get_full_name_for_node(node.module) or ""]
    return []


class _DbCodemod(AsyncfixCodemod):
    FAMILY = FAMILY
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def check_config(cls, config: Config) -> None:
        family_options(config)

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context, run)
        self.options = family_options(run.config)
        self._own: dict[cst.FunctionDef, list[cst.CSTNode]] = {}
        self._sql: bool | None = None  # does the module import sqlalchemy or sqlmodel?

    @classmethod
    def acts_on(cls, tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
        """Could this pass change or report anything in the module of this source and
        stdlib ast? `plan` is this codemod's plan for it."""
        return True

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        return cls.acts_on(view.tree, view.source, view.plans.get(cls.NAME), view.enabled)

    def screen(self, module: cst.Module) -> bool:
        tree: ast.Module | None = None
        if module is self.run.original and self.run.source:
            source, tree = self.run.source, self.run.syntax_tree()
        else:  # an earlier codemod changed the tree: screen what it made
            code = module.code
            source = code.encode()
            with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
                tree = syntax.parse(code)
        return tree is None or self.acts_on(tree, source, self.planned, self.run.enabled)

    def own_nodes(self, function: cst.FunctionDef) -> list[cst.CSTNode]:
        # Several rules walk the same functions; walk each once.
        if function not in self._own:
            self._own[function] = own_nodes(function)
        return self._own[function]

    def is_generator(self, function: cst.FunctionDef) -> bool:
        return any(type(n) is cst.Yield for n in self.own_nodes(function))

    def is_fixture(self, function: cst.FunctionDef) -> bool:
        """A pytest fixture: its session's transaction is the test's business (tests often
        rely on nothing being committed), so it is neither a dependency nor rewritten."""
        return any(
            self.qnames(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
            & {"pytest.fixture", "pytest_asyncio.fixture"}
            for d in function.decorators
        )

    def qnames(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def sessionmaker_kind(self, call: cst.Call) -> Kind | None:
        """The kind of session a `sessionmaker(...)`/`async_sessionmaker(...)` call makes."""
        if not isinstance(call.func, cst.Name | cst.Attribute):
            return None
        names = self.qnames(call.func)
        if not names & (_SESSIONMAKERS | _ASYNC_SESSIONMAKERS):
            return None
        if any(arg.star for arg in call.args):
            return None  # **options could hold class_
        kind: Kind = "async" if names & _ASYNC_SESSIONMAKERS else "sync"
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "class_":
                classes = self.qnames(arg.value)
                if classes & _ASYNC_SESSIONS:
                    return "async"
                if classes & _SYNC_SESSIONS:
                    return "sync"
                return None  # a custom class: its context-manager behaviour is unknown
        return kind

    def factory(self, func: cst.BaseExpression) -> tuple[Kind | None, str]:
        """The kind of session `func()` returns, or None with the reason it is unknown."""
        names = self.qnames(func)
        if names & _SYNC_SESSIONS:
            return "sync", ""
        if names & _ASYNC_SESSIONS:
            return "async", ""
        label = _code(func)
        unknown = f"`{label}` is not provably a sessionmaker or a Session class"
        if not isinstance(func, cst.Name):
            return None, unknown
        scope = self.get_metadata(ScopeProvider, func, None)
        if scope is None or func.value not in scope:
            return None, unknown
        assignments = list(scope[func.value])
        if len(assignments) != 1:
            return None, f"`{label}` is assigned more than once"
        assignment = assignments[0]
        if isinstance(assignment, ImportAssignment):
            planned = (self.planned or {}).get(func.value)
            if isinstance(assignment.scope, GlobalScope):
                if planned == "sync" or planned == "async":
                    return planned, ""
                if planned == "unknown":
                    return None, f"`{label}` is not provably a sessionmaker where it is defined"
            return None, f"`{label}` is imported; its definition was not found as a sessionmaker"
        if isinstance(assignment.scope, FunctionScope):
            kind = self.hoisted_kind(func.value, assignment.scope.node)
            if kind is not None:
                return kind, ""
            made = self.assigned_call(_assignment_node(assignment))
            if made is not None and self.sessionmaker_kind(made) is not None:
                return None, f"`{label}` is built inside the function on every call (AF402)"
            return None, f"`{label}` is a local name; what it is bound to is not proved"
        call = self.assigned_call(_assignment_node(assignment))
        if call is None or not isinstance(assignment.scope, GlobalScope):
            return None, unknown
        kind = self.sessionmaker_kind(call)
        return kind, "" if kind else unknown

    def assigned_call(self, target: cst.CSTNode) -> cst.Call | None:
        """`target = <call>` with a single target: the call."""
        parent = self.get_metadata(ParentNodeProvider, target, None)
        if not isinstance(parent, cst.AssignTarget):
            return None
        assign = self.get_metadata(ParentNodeProvider, parent, None)
        if (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.value, cst.Call)
        ):
            return assign.value
        return None

    def alias_target(self, annotation: cst.BaseExpression) -> cst.BaseExpression:
        """`SessionDep` -> `Annotated[Session, Depends(get_db)]` when a module-level
        `SessionDep = Annotated[...]` is the name's one binding; else `annotation`."""
        if not isinstance(annotation, cst.Name):
            return annotation
        scope = self.get_metadata(ScopeProvider, annotation, None)
        if scope is None:
            return annotation
        assignments = list(scope[annotation.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, GlobalScope):
            return annotation
        parent = self.get_metadata(ParentNodeProvider, _assignment_node(assignments[0]), None)
        assign = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        if (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.value, cst.Subscript)
        ):
            return assign.value
        return annotation

    def hoisted_kind(self, name: str, function: cst.CSTNode) -> Kind | None:
        """The kind of a factory built in `function` that this pass moves to module level."""
        return None

    def exception_shadowed(self, node: cst.CSTNode) -> bool:
        scope = self.get_metadata(ScopeProvider, node, None)
        return scope is not None and _bound(scope, "Exception")

    def parser_config(self) -> cst.PartialParserConfig:
        assert self._module is not None
        return self._module.config_for_parsing


# -- AF401, AF402, AF403: one pass -----------------------------------------------------------


@dataclass(frozen=True)
class _Creation:
    """Where a function makes the session it yields or uses."""

    name: str
    call: cst.Call
    statement: cst.SimpleStatementLine | cst.With  # `name = F()` or `with F() as name:`


@dataclass(frozen=True)
class _Twin:
    """The get_db_session() context manager AF403 uses: generated, or already there."""

    factory: str  # code of the factory call, `SessionLocal()`
    kind: Kind
    dependency: cst.FunctionDef | None  # the function it is generated beside; None: exists
    node: cst.FunctionDef | None  # the generated function
    anchor: cst.FunctionDef  # the module-level def after which get_db_session() exists


class SessionCodemod(_DbCodemod):
    """AF402, AF401 and AF403 in ONE pass. Every decision is taken in visit_Module, on the
    tree as given (so findings point at the lines as written), and applied on the way out."""

    NAME = "db-session"
    RULES = (AF401, AF402, AF403)
    # After `awaits` (which runs after every plain codemod): AF501 may await a forgotten
    # `db.close()`, which makes the function AF401's pattern; seeing it in the same run
    # keeps the pipeline idempotent.
    AFTER = ("*", "awaits", "db-sync-session-in-async")
    TRIGGERS = (b"ession",)
    # ...and at least one of these: a yield, a close(), add_task(), or a sessionmaker.
    _ANY_OF = (b"yield", b"close", b"add_task", b"essionmaker")

    @classmethod
    def may_match(cls, data: bytes) -> bool:
        return super().may_match(data) and any(token in data for token in cls._ANY_OF)

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context, run)
        # AF402: function -> (the statement building the factory, its module-level form)
        self._hoist: dict[
            cst.FunctionDef, tuple[cst.SimpleStatementLine, cst.SimpleStatementLine]
        ] = {}
        self._hoisted: dict[str, tuple[cst.FunctionDef, Kind | None]] = {}
        # AF401: function -> its new body (docstring and the transactional `with`)
        self._scopes: dict[cst.FunctionDef, list[cst.BaseStatement]] = {}
        # AF403: function -> the `name = F()` lines whose `try` becomes `with get_db_session()`
        self._sites: dict[cst.FunctionDef, dict[cst.BaseStatement, cst.With]] = {}
        self._twin: _Twin | None = None

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return imported_factories(index)

    @classmethod
    def acts_on(cls, tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
        return _session_sites(tree, source, plan, enabled)

    # -- deciding ----------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        functions = function_defs(node)
        if self.enabled("AF402"):
            for function in functions:
                self._plan_hoist(function)
        if self.enabled("AF401"):
            for function in functions:
                self._plan_scope(function)
        if self.enabled("AF403"):
            self._plan_twin(node, functions)
            self._report_background_tasks(functions)
        return True

    def hoisted_kind(self, name: str, function: cst.CSTNode) -> Kind | None:
        hoisted = self._hoisted.get(name)
        return hoisted[1] if hoisted is not None and hoisted[0] is function else None

    # AF402 ------------------------------------------------------------------------------

    def _is_factory_call(self, node: cst.CSTNode) -> bool:
        return (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name | cst.Attribute)
            and bool(self.qnames(node.func) & (_SESSIONMAKERS | _ASYNC_SESSIONMAKERS))
        )

    def _plan_hoist(self, function: cst.FunctionDef) -> None:
        handled: set[cst.CSTNode] = set()
        for stmt in _statements(function):
            assigned = _single_assign(stmt)
            if not assigned or not self._is_factory_call(assigned[1]):
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            name, call = assigned
            handled.add(call)
            message = f"session factory `{name}` is built on every call of `{function.name.value}`"
            reason = self._hoist_refusal(function, stmt, name, call)
            if reason is not None:
                self.report(call, "AF402", message, reason=reason)
            elif self.report(call, "AF402", message + "; hoisted to module level"):
                self._hoist[function] = (stmt, self._hoisted_statement(stmt, call))
                self._hoisted[name] = (function, self.sessionmaker_kind(call))
        for node in self.own_nodes(function):
            if node not in handled and self._is_factory_call(node):
                self.report(
                    node,
                    "AF402",
                    f"session factory built on every call of `{function.name.value}`",
                    reason="not a plain `name = sessionmaker(...)` statement of the function body",
                )

    def _hoist_refusal(
        self, function: cst.FunctionDef, stmt: cst.SimpleStatementLine, name: str, call: cst.Call
    ) -> str | None:
        if function in self._hoist:
            return "a second session factory in the same function"
        if not isinstance(self.get_metadata(ParentNodeProvider, function, None), cst.Module):
            return "the function is not defined at module level"
        if not isinstance(stmt.body[0], cst.Assign):
            return "an annotated assignment; hoist it by hand"
        body = list(_statements(function))
        if len(body) < 2:
            return "the factory is the whole body of the function"
        scope = self.get_metadata(ScopeProvider, call, None)
        if scope is None:
            return "cannot resolve its names"
        if _bound(scope.globals, name) or name in self._hoisted:
            return f"the name `{name}` is already used at module level"
        if len(list(scope[name])) != 1:
            return f"`{name}` is assigned more than once in the function"
        for earlier in body[: body.index(stmt)]:
            if m.findall(earlier, m.Name(name)):
                return f"`{name}` is used before the factory is built"
        # Shared once hoisted: the function may only call it (or `.begin()`), not
        # reconfigure it or hand it out.
        target = stmt.body[0].targets[0].target
        for later in body[body.index(stmt) :]:
            for ref in m.findall(later, m.Name(name)):
                if ref is target:
                    continue
                parent = self.get_metadata(ParentNodeProvider, ref, None)
                if isinstance(parent, cst.Call) and parent.func is ref:
                    continue
                if isinstance(parent, cst.Attribute) and m.matches(parent.attr, m.Name("begin")):
                    continue
                return f"the function uses `{name}` for more than making sessions"
        for inner in m.findall(call, m.Call() | m.Lambda() | m.Await() | m.Yield()):
            if inner is not call:
                return "its arguments compute something on every call"
        if any(arg.star for arg in call.args):
            return "its arguments are unpacked at call time"
        for ref in self._free_names(call):
            problem = self._module_level_before(ref, function)
            if problem is not None:
                return problem
        return None

    def _free_names(self, call: cst.Call) -> Iterator[cst.Name]:
        for expr in [call.func, *(arg.value for arg in call.args)]:
            for node in m.findall(expr, m.Name()):
                assert isinstance(node, cst.Name)
                parent = self.get_metadata(ParentNodeProvider, node, None)
                if isinstance(parent, cst.Attribute) and parent.attr is node:
                    continue  # `settings.url`: only `settings` is a name
                yield node

    def _module_level_before(self, ref: cst.Name, function: cst.FunctionDef) -> str | None:
        """None when `ref` is a builtin or a name bound only by plain module-level statements
        above `function`: then it is bound when the hoisted factory is built."""
        if ref.value in {"True", "False", "None"}:
            return None
        scope = self.get_metadata(ScopeProvider, ref, None)
        if scope is None:
            return f"cannot resolve `{ref.value}`"
        assignments = [a for a in scope[ref.value] if not isinstance(a, BuiltinAssignment)]
        if not assignments:
            if hasattr(builtins, ref.value):
                return None
            return f"`{ref.value}` is not defined in this module"
        assert self._module is not None
        toplevel = {id(stmt): i for i, stmt in enumerate(self._module.body)}
        limit = toplevel.get(id(function))
        for assignment in assignments:
            if not isinstance(assignment.scope, GlobalScope):
                return f"`{ref.value}` exists only inside the function, not at module level"
            statement = self._toplevel_statement(_assignment_node(assignment))
            index = toplevel.get(id(statement)) if statement is not None else None
            if index is None:
                return f"`{ref.value}` is also bound in a block or a function (`global`)"
            if limit is None or index >= limit:
                return f"`{ref.value}` is bound at module level only below the function"
        return None

    def _toplevel_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The module-level simple statement (or import) that binds `node`, if it is one."""
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(parent, cst.Module):
                return current if isinstance(current, cst.SimpleStatementLine) else None
            if isinstance(parent, cst.BaseCompoundStatement):
                return None
            current = parent
        return None

    def _hoisted_statement(
        self, stmt: cst.SimpleStatementLine, call: cst.Call
    ) -> cst.SimpleStatementLine:
        if self.sessionmaker_kind(call) == "async" and not any(
            a.keyword is not None and a.keyword.value == "expire_on_commit" for a in call.args
        ):
            call = call.with_changes(args=_append_keyword(call, "expire_on_commit", "False"))
        assign = stmt.body[0]
        assert isinstance(assign, cst.Assign)
        return stmt.with_changes(body=[assign.with_changes(value=call)])

    # AF401 ------------------------------------------------------------------------------

    def _plan_scope(self, function: cst.FunctionDef) -> None:
        if not self.is_generator(function) or self.is_fixture(function):
            return
        nodes = self.own_nodes(function)
        creation = self._creation(nodes, yielded_only=True)
        if creation is None:
            return
        if isinstance(creation.statement, cst.With):
            # Closed on every path already; the project may manage its transactions itself,
            # and a commit added after `yield` would move their boundary. Not leaky.
            return
        name, call = creation.name, creation.call
        calls = _method_calls_on(nodes, name)
        if calls & {"rollback", "begin", "begin_nested"}:
            return  # it already manages its transaction
        message = (
            f"`{function.name.value}` only closes its session: no commit on success, "
            "no rollback on error"
        )
        kind, unknown = self.factory(call.func)
        reason: str | None = None
        if "commit" in calls:
            message = f"`{function.name.value}` commits its session but never rolls it back"
            reason = "it commits by hand; where commit and rollback go needs review"
        elif kind is None:
            reason = unknown
        elif kind == "async" and function.asynchronous is None:
            reason = "an async session in a sync def"
        else:
            reason = self._shape_refusal(function, creation, kind)
        if reason is None and self.exception_shadowed(function):
            reason = "the name `Exception` is rebound in this module"
        if reason is None and self.options.commit_on_exit:
            timing = missing(self.run.config, FASTAPI_EXIT_BEFORE_RESPONSE, self.run.path)
            if timing is not None:
                reason = (
                    f"{timing}: a failing commit would not reach the client; commit in the "
                    "endpoint, or set [tool.asyncfix.db_session] commit-on-exit = false"
                )
        new: list[cst.BaseStatement] = []
        if reason is None and kind is not None:
            new = self._scope_body(function, creation, kind)
            if _loses_comments(self._own_statements(function), new):
                reason = "a comment inside the session code would be lost"
        if reason is not None:
            self.report(function.name, "AF401", message, reason=reason)
        elif self.report(function.name, "AF401", message):
            self._scopes[function] = new
            self._drop_annotation(creation.statement)

    def _drop_annotation(self, statement: cst.CSTNode) -> None:
        """`db: AsyncSession = F()` becomes `with F() as db`: the annotation's import goes
        when nothing else uses it."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return
        assign = statement.body[0]
        if not isinstance(assign, cst.AnnAssign):
            return
        for name in m.findall(assign.annotation, m.Name()):
            scope = self.get_metadata(ScopeProvider, name, None)
            if scope is not None:
                remove_import_if_unused(self.context, scope, name)

    def _own_statements(self, function: cst.FunctionDef) -> list[cst.BaseStatement]:
        """The function's statements, less a factory AF402 moves out."""
        hoisted = self._hoist.get(function)
        return [s for s in _statements(function) if hoisted is None or s is not hoisted[0]]

    def _creation(self, nodes: list[cst.CSTNode], *, yielded_only: bool) -> _Creation | None:
        """The session the function makes with `name = F()` or `with F() as name` (and
        yields, when `yielded_only`), if F looks like a session factory."""
        yielded = {
            n.value.value
            for n in nodes
            if isinstance(n, cst.Yield) and isinstance(n.value, cst.Name)
        }
        for node in nodes:
            if isinstance(node, cst.SimpleStatementLine):
                assigned = _single_assign(node)
                if (
                    assigned
                    and (assigned[0] in yielded or not yielded_only)
                    and self._session_like(assigned[1])
                ):
                    return _Creation(assigned[0], assigned[1], node)
            elif isinstance(node, cst.With):
                for item in node.items:
                    if (
                        item.asname is not None
                        and isinstance(item.asname.name, cst.Name)
                        and item.asname.name.value in yielded
                        and isinstance(item.item, cst.Call)
                        and self._session_like(item.item)
                    ):
                        return _Creation(item.asname.name.value, item.item, node)
        return None

    def _session_like(self, call: cst.Call) -> bool:
        """Is `call` meant to make a session? Provably, or by its name, or because the name
        is bound to some sessionmaker(...) call (enough to report, not to rewrite)."""
        if m.matches(call.func, m.Attribute(attr=m.Name("begin"))):
            return False  # `Factory.begin()` is already a transactional scope
        kind, _ = self.factory(call.func)
        if kind is not None:
            return True
        scope = self.get_metadata(ScopeProvider, call.func, None)
        if isinstance(call.func, cst.Name) and scope is not None:
            if call.func.value in (self.planned or {}):
                return True  # made by a sessionmaker in the module it is imported from
            for assignment in scope[call.func.value]:
                made = self.assigned_call(_assignment_node(assignment))
                if made is not None and self._is_factory_call(made):
                    return True
        # A name that says "session" is evidence only in a module that uses SQLAlchemy or
        # SQLModel, and never for another library's session (aiohttp.ClientSession).
        return (
            "session" in _code(call.func).lower()
            and self._uses_sql()
            and not any(n.split(".")[0] in _OTHER_SESSIONS for n in self.qnames(call.func))
        )

    def _uses_sql(self) -> bool:
        if self._sql is None:
            module = self._module
            self._sql = module is not None and any(
                name.split(".")[0] in ("sqlalchemy", "sqlmodel")
                for node in m.findall(module, m.Import() | m.ImportFrom())
                for name in _imported_modules(node)
            )
        return self._sql

    def _shape_refusal(
        self, function: cst.FunctionDef, creation: _Creation, kind: Kind
    ) -> str | None:
        """None when the body is exactly open-yield-close in one of the two known shapes."""
        name = creation.name
        if not isinstance(function.body, cst.IndentedBlock):
            return "the function body is on one line"
        _, body = _docstring_split(self._own_statements(function))
        if sum(type(n) is cst.Yield for n in self.own_nodes(function)) != 1:
            return "the function yields more than once"
        if not body or body[0] is not creation.statement:
            return "the function does something else before it opens the session"
        closing: Sequence[cst.BaseStatement] = []
        if isinstance(creation.statement, cst.With):
            with_node = creation.statement
            if len(with_node.items) != 1:
                return "the `with` statement manages more than the session"
            if (with_node.asynchronous is not None) != (kind == "async"):
                return "`with` or `async with` does not match the session's kind"
            inner = _block_lines(with_node.body)
            expected = 1
        else:
            if len(body) < 2 or not isinstance(body[1], cst.Try):
                return "the session is not opened right before a `try: ... finally: close()`"
            tried = body[1]
            if tried.handlers or tried.orelse is not None:
                return "the `try` already handles exceptions"
            if tried.finalbody is None:
                return "the session is not closed in a `finally`"
            inner = _block_lines(tried.body)
            closing = _block_lines(tried.finalbody.body)
            if not closing or not _close_call(closing[0], name, kind):
                close = f"await {name}.close()" if kind == "async" else f"{name}.close()"
                return f"the `finally` does not just `{close}`"
            expected = 2
        if not inner or not _yields_name(inner[0], name):
            return "the yield is inside another block, or is not a plain `yield " + name + "`"
        if len(inner) > 1:
            used = any(m.findall(stmt, m.Name(name)) for stmt in inner[1:])
            return "the session is used after the yield" if used else "code runs after the yield"
        if len(closing) > 1:
            return "the `finally` does more than close the session"
        if len(body) > expected:
            return "the function does more after the session is closed"
        return None

    def _scope_body(
        self, function: cst.FunctionDef, creation: _Creation, kind: Kind
    ) -> list[cst.BaseStatement]:
        docstring, body = _docstring_split(self._own_statements(function))
        config = self.parser_config()
        try_header: cst.TrailingWhitespace | None = None
        if isinstance(creation.statement, cst.With):
            with_node = creation.statement
            yield_stmt = _block_lines(with_node.body)[0]
        else:
            assert isinstance(creation.statement, cst.SimpleStatementLine)
            with_node = _with_statement(creation.call, creation.name, kind, config)
            tried = body[1]
            assert isinstance(tried, cst.Try) and isinstance(with_node.body, cst.IndentedBlock)
            # `db = F()  # note` -> `with F() as db:  # note`; `try:  # x` stays `try:  # x`
            with_node = with_node.with_changes(
                leading_lines=creation.statement.leading_lines,
                body=with_node.body.with_changes(header=creation.statement.trailing_whitespace),
            )
            yield_stmt = _block_lines(tried.body)[0]
            if isinstance(tried.body, cst.IndentedBlock):
                try_header = tried.body.header
        scope = transactional_with(
            with_node,
            creation.name,
            kind,
            yield_stmt,
            self.options.commit_on_exit,
            config,
            try_header,
        )
        return [*docstring, scope]

    # AF403 ------------------------------------------------------------------------------

    def _dependencies(
        self, functions: list[cst.FunctionDef]
    ) -> list[tuple[cst.FunctionDef, _Creation]]:
        """Module-level generator functions that yield a session they make."""
        found = []
        for function in functions:
            if not isinstance(self.get_metadata(ParentNodeProvider, function, None), cst.Module):
                continue
            if not self.is_generator(function) or self.is_fixture(function):
                continue
            creation = self._creation(self.own_nodes(function), yielded_only=True)
            if creation is not None:
                found.append((function, creation))
        return found

    def _plan_twin(self, module: cst.Module, functions: list[cst.FunctionDef]) -> None:
        sites = [
            (function, creation)
            for function in functions
            if not self.is_generator(function) and not self.is_fixture(function)
            for creation in self._hand_made(function)
        ]
        if not sites:
            return
        twin, problem = self._twin_for(module, functions)
        accepted = False
        for function, creation in sites:
            message = f"`{function.name.value}` opens a session by hand"
            reason = problem or self._site_refusal(function, creation, twin)
            if reason is None and twin is not None:
                reason = self._runs_before_twin(module, function, twin.anchor)
            if reason is None and twin is not None and twin.kind == "async":
                # `async with get_db_session()` awaits where `db = Factory()` did not.
                scope = self.get_metadata(ScopeProvider, creation.call, None)
                reason = split_section(function, scope, creation.call)
            with_node: cst.With | None = None
            if reason is None and twin is not None:
                with_node = self._site_with(function, creation, twin)
                old = [creation.statement, self._next_statement(function, creation.statement)]
                if _loses_comments([s for s in old if s is not None], [with_node]):
                    reason = "a comment in the session code would be lost"
            if reason is not None or with_node is None:
                self.report(
                    creation.statement, "AF403", message, reason=reason or f"no {TWIN}() to use"
                )
                continue
            if self.report(creation.statement, "AF403", message + f"; use {TWIN}()"):
                self._sites.setdefault(function, {})[creation.statement] = with_node
                self._drop_annotation(creation.statement)
                accepted = True
        if accepted and twin is not None and twin.node is not None:
            self._twin = twin
            AddImportsVisitor.add_needed_import(
                self.context, "contextlib", _CONTEXT_MANAGERS[twin.kind]
            )

    def _runs_before_twin(
        self, module: cst.Module, function: cst.FunctionDef, dependency: cst.FunctionDef
    ) -> str | None:
        """The twin is defined right after the dependency: a site function that module-level
        code uses above that point may run before get_db_session() exists."""
        scope = self.get_metadata(ScopeProvider, function, None)
        if scope is None:
            return None
        toplevel = {id(stmt): i for i, stmt in enumerate(module.body)}
        limit = toplevel.get(id(dependency), len(module.body))
        for access in scope.globals.accesses[function.name.value]:
            if access.scope is not scope.globals:
                continue  # used inside a function: runs when that function is called
            statement = self._toplevel_of(access.node)
            if statement is not None and toplevel.get(id(statement), limit + 1) <= limit:
                return f"module-level code uses it above the point where {TWIN}() is defined"
        return None

    def _toplevel_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(parent, cst.Module):
                return current
            current = parent
        return None

    def _hand_made(self, function: cst.FunctionDef) -> list[_Creation]:
        """`name = F()` statements of the function body with F a session factory."""
        found = []
        for stmt in _statements(function):
            assigned = _single_assign(stmt)
            if assigned is None or self.factory(assigned[1].func)[0] is None:
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            found.append(_Creation(assigned[0], assigned[1], stmt))
        return found

    def _next_statement(
        self, function: cst.FunctionDef, stmt: cst.BaseStatement
    ) -> cst.BaseStatement | None:
        body = list(_statements(function))
        index = body.index(stmt)
        return body[index + 1] if index + 1 < len(body) else None

    def _twin_for(
        self, module: cst.Module, functions: list[cst.FunctionDef]
    ) -> tuple[_Twin | None, str | None]:
        """The get_db_session() to use: the module's own, or one to generate beside the
        session dependency; else None and why not."""
        existing = [
            s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == TWIN
        ]
        if existing:
            twin = existing[0]
            decorators = {q for d in twin.decorators for q in self.qnames(d.decorator)}
            body = _docstring_split(_statements(twin))[1]
            if (
                len(body) == 1
                and _is_fixed_scope(body[0]) is not None
                and isinstance(body[0], cst.With)
            ):
                kind: Kind = "async" if body[0].asynchronous else "sync"
                if f"contextlib.{_CONTEXT_MANAGERS[kind]}" in decorators:
                    item = body[0].items[0].item
                    return _Twin(_code(item), kind, None, None, twin), None
            return None, f"`{TWIN}` already exists and is not the expected context manager"
        scope = self.get_metadata(ScopeProvider, module, None)
        if scope is not None and _bound(scope, TWIN):
            return None, f"the name `{TWIN}` is already used in this module"
        dependencies = self._dependencies(functions)
        if not dependencies:
            return None, f"no session dependency in this module to generate {TWIN}() beside"
        # The first dependency whose session the twin can make the same way.
        problems: list[str] = []
        picked: tuple[cst.FunctionDef, _Creation, Kind] | None = None
        for candidate, made in dependencies:
            factory_kind, unknown = self.factory(made.call.func)
            if factory_kind is None:
                problems.append(f"the dependency's factory: {unknown}")
            elif not self._module_level_call(made.call):
                problems.append("the dependency's session factory call uses local names")
            else:
                picked = (candidate, made, factory_kind)
                break
        if picked is None:
            return None, problems[0]
        dependency, creation, kind = picked
        if scope is not None and _bound(scope, _CONTEXT_MANAGERS[kind], importable=True):
            return None, f"the name `{_CONTEXT_MANAGERS[kind]}` means something else here"
        if self.exception_shadowed(module):
            return None, "the name `Exception` is rebound in this module"
        node = self._twin_node(creation, kind)
        return _Twin(_code(creation.call), kind, dependency, node, dependency), None

    def _module_level_call(self, call: cst.Call) -> bool:
        """Does `call` mean the same in a new module-level function (`Session(engine)`)?"""
        if any(arg.star for arg in call.args):
            return False
        for ref in self._free_names(call):
            scope = self.get_metadata(ScopeProvider, ref, None)
            if scope is None:
                return False
            for assignment in scope[ref.value]:
                if not isinstance(assignment, BuiltinAssignment) and not isinstance(
                    assignment.scope, GlobalScope
                ):
                    return False
        return True

    def _twin_node(self, creation: _Creation, kind: Kind) -> cst.FunctionDef:
        config = self.parser_config()
        name = creation.name
        with_node = _with_statement(creation.call.deep_clone(), name, kind, config)
        yield_stmt = cst.parse_statement(f"yield {name}\n", config=config)
        scope = transactional_with(
            with_node, name, kind, yield_stmt, self.options.commit_on_exit, config
        )
        asynchronous = "async " if kind == "async" else ""
        header = f"@{_CONTEXT_MANAGERS[kind]}\n{asynchronous}def {TWIN}():\n    pass\n"
        function = cst.parse_statement(header, config=config)
        assert isinstance(function, cst.FunctionDef)
        return function.with_changes(body=cst.IndentedBlock(body=[scope]))

    def _site_refusal(
        self, function: cst.FunctionDef, creation: _Creation, twin: _Twin | None
    ) -> str | None:
        if twin is None:
            return f"no {TWIN}() to use"
        name = creation.name
        kind, _ = self.factory(creation.call.func)
        if _code(creation.call) != twin.factory:
            return f"it is made by `{_code(creation.call)}`, not by `{twin.factory}` as in {TWIN}()"
        if kind != twin.kind:
            return "its kind differs from the dependency's session"
        if kind == "async" and function.asynchronous is None:
            return "an async session in a sync def"
        tried = self._next_statement(function, creation.statement)
        if not isinstance(tried, cst.Try) or tried.finalbody is None:
            return "the session is not closed in a `finally` right after it is opened"
        if tried.handlers or tried.orelse is not None:
            return "the `try` handles exceptions itself; merge it with the scope by hand"
        closing = _block_lines(tried.finalbody.body)
        if len(closing) != 1 or not _close_call(closing[0], name, kind):
            close = f"await {name}.close()" if kind == "async" else f"{name}.close()"
            return f"the `finally` does more than `{close}`"
        body = list(_statements(function))
        after = body[body.index(tried) + 1 :]
        if any(m.findall(stmt, m.Name(name)) for stmt in after):
            return "the session name is used after the `try`"
        scope = self.get_metadata(ScopeProvider, creation.call, None)
        if scope is not None and len(list(scope[name])) != 1:
            return f"`{name}` is assigned more than once in the function"
        if scope is not None and any(not isinstance(a.scope, GlobalScope) for a in scope[TWIN]):
            return f"the name `{TWIN}` means something else in this function"
        if any(_close_call(s, name, kind) for s in _block_lines(tried.body)):
            return "the session is closed inside the `try` too"
        return None

    def _site_with(self, function: cst.FunctionDef, creation: _Creation, twin: _Twin) -> cst.With:
        tried = self._next_statement(function, creation.statement)
        assert isinstance(tried, cst.Try)
        call = cst.Call(func=cst.Name(TWIN))
        with_node = _with_statement(call, creation.name, twin.kind, self.parser_config())
        body = tried.body
        assert isinstance(creation.statement, cst.SimpleStatementLine)
        own = creation.statement.trailing_whitespace
        # `db = F()  # note` -> `with get_db_session() as db:  # note` (when the `try:`
        # line has no comment of its own; else the comment check refuses the site)
        if (
            own.comment is not None
            and isinstance(body, cst.IndentedBlock)
            and body.header.comment is None
        ):
            body = body.with_changes(header=own)
        return with_node.with_changes(leading_lines=creation.statement.leading_lines, body=body)

    def _report_background_tasks(self, functions: list[cst.FunctionDef]) -> None:
        dependencies = {f.name.value for f, _ in self._dependencies(functions)}
        for function in functions:
            sessions = self._session_params(function, dependencies)
            if not sessions:
                continue
            for node in self.own_nodes(function):
                if not m.matches(node, m.Call(func=m.Attribute(attr=m.Name("add_task")))):
                    continue
                assert isinstance(node, cst.Call)
                for arg in node.args:
                    if isinstance(arg.value, cst.Name) and arg.value.value in sessions:
                        self.report(
                            arg,
                            "AF403",
                            f"request-scoped session `{arg.value.value}` handed to a "
                            "background task",
                            reason=(
                                "the dependency closes the session when the request is done, "
                                f"before the task runs; open one in the task with {TWIN}()"
                            ),
                        )

    def _session_params(self, function: cst.FunctionDef, dependencies: set[str]) -> set[str]:
        found = set()
        params = function.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            annotation = (
                self.alias_target(param.annotation.annotation) if param.annotation else None
            )
            depends = [param.default] if param.default is not None else []
            if isinstance(annotation, cst.Subscript):
                depends += [
                    e.slice.value for e in annotation.slice[1:] if isinstance(e.slice, cst.Index)
                ]
                first = annotation.slice[0].slice
                annotation = first.value if isinstance(first, cst.Index) else None
            for call in depends:
                if not isinstance(call, cst.Call) or not self.qnames(call.func) & _DEPENDS:
                    continue
                target = call.args[0].value if call.args else None
                session_type = annotation is not None and bool(
                    self.qnames(annotation) & (_SYNC_SESSIONS | _ASYNC_SESSIONS)
                )
                if session_type or (isinstance(target, cst.Name) and target.value in dependencies):
                    found.add(param.name.value)
        return found

    # -- applying ----------------------------------------------------------------------------

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.FlattenSentinel[cst.BaseStatement]:
        before: list[cst.BaseStatement] = []
        after: list[cst.BaseStatement] = []
        function = updated_node
        if original_node in self._scopes:
            function = function.with_changes(
                body=function.body.with_changes(body=self._scopes[original_node])
            )
        elif original_node in self._hoist or original_node in self._sites:
            assert isinstance(function.body, cst.IndentedBlock)
            hoisted = self._hoist.get(original_node)
            sites = self._sites.get(original_node, {})
            body: list[cst.BaseStatement] = []
            skip = False
            for original, updated in zip(
                _statements(original_node), function.body.body, strict=True
            ):
                if skip:
                    skip = False
                elif hoisted is not None and original is hoisted[0]:
                    pass
                elif original in sites:
                    body.append(sites[original])
                    skip = True  # the `try` it replaces
                else:
                    body.append(updated)
            function = function.with_changes(body=function.body.with_changes(body=body))
        if original_node in self._hoist:
            # The factory goes right above the function, after its blank lines; comments
            # above the def stay with the def, the statement's own comments go with it.
            _, statement = self._hoist[original_node]
            empties, comments = _leading_empties(function.leading_lines)
            _, own_comments = _leading_empties(statement.leading_lines)
            before.append(statement.with_changes(leading_lines=[*empties, *own_comments]))
            function = function.with_changes(leading_lines=[*empties, *comments])
        if self._twin is not None and self._twin.dependency is original_node:
            assert self._twin.node is not None
            empties, _ = _leading_empties(original_node.leading_lines)
            after.append(
                self._twin.node.with_changes(leading_lines=empties or [cst.EmptyLine()] * 2)
            )
        if not before and not after:
            return function
        return cst.FlattenSentinel([*before, function, *after])


def _append_keyword(call: cst.Call, keyword: str, value: str) -> list[cst.Arg]:
    """`call`'s arguments plus `keyword=value`, laid out like the others: on its own line
    in a call written one argument per line, a trailing comma kept where there was one."""
    args = list(call.args)
    new = cst.Arg(
        keyword=cst.Name(keyword),
        value=cst.Name(value),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    if not args:
        return [new]
    last = args[-1]
    # The space between two arguments: as after the one before last, else as before the first.
    between: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
    if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
        between = args[-2].comma.whitespace_after
    elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        between = call.whitespace_before_args
    if isinstance(last.comma, cst.Comma):
        # `a,\n)`: the new argument takes the trailing comma and the space before `)`.
        new = new.with_changes(
            comma=last.comma.with_changes(whitespace_before=cst.SimpleWhitespace(""))
        )
        last = last.with_changes(comma=cst.Comma(whitespace_after=between))
    else:
        # `a\n)`: the space before `)` moves after the new argument.
        new = new.with_changes(whitespace_after_arg=last.whitespace_after_arg)
        last = last.with_changes(
            comma=cst.Comma(whitespace_after=between),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
    return [*args[:-1], last, new]


def _assignment_node(assignment: BaseAssignment) -> cst.CSTNode:
    return assignment.node if isinstance(assignment, Assignment) else cst.Pass()


def _bound(scope: Scope, name: str, *, importable: bool = False) -> bool:
    """Is `name` bound in `scope` by the code itself (not a builtin)? With `importable`, an
    import of that very name from contextlib does not count."""
    for assignment in scope[name]:
        if isinstance(assignment, BuiltinAssignment):
            continue
        if importable and isinstance(assignment, ImportAssignment):
            node = assignment.node
            if (
                isinstance(node, cst.ImportFrom)
                and isinstance(node.module, cst.Name)
                and node.module.value == "contextlib"
                and not node.relative
                and isinstance(node.names, Sequence)
                and any(a.evaluated_name == name and a.asname is None for a in node.names)
            ):
                continue
        return True
    return False


# -- AF404: sync sessions in async path operations (report only) -----------------------------

_MIGRATION = (
    "report only: migrate to create_async_engine with an async driver URL "
    "(postgresql+asyncpg://), async_sessionmaker and AsyncSession with awaited calls, or make "
    "the path operation a plain def so that FastAPI runs it in its threadpool"
)


class SyncSessionInAsync(_DbCodemod):
    NAME = "db-sync-session-in-async"
    RULES = (AF404,)
    TRIGGERS = (b"async", b"sql")

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return imported_sync_objects(index)

    @classmethod
    def acts_on(cls, tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]) -> bool:
        return _sync_session_sites(tree, source, plan, enabled)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or not any(
            m.matches(
                d.decorator,
                m.Call(
                    func=m.Attribute(
                        attr=m.OneOf(*(m.Name(method) for method in sorted(ROUTE_METHODS)))
                    )
                ),
            )
            for d in node.decorators
        ):
            return
        where = f"async path operation `{node.name.value}`"
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for param in params:
            if param.annotation is not None and self._sync_session_type(
                param.annotation.annotation
            ):
                self.report(
                    param,
                    "AF404",
                    f"sync SQLAlchemy Session `{param.name.value}` in {where} blocks the loop",
                    reason=_MIGRATION,
                )
        seen: set[str] = set()
        lines: set[int] = set()
        for inner in self.own_nodes(node):
            what = self._sync_use(inner)
            if what is None or what in seen:
                continue
            seen.add(what)
            position = self._position(inner)
            line = position.start.line if position else 0
            if line in lines:
                continue  # one finding per line is enough to point at it
            lines.add(line)
            self.report(inner, "AF404", f"{what} in {where} blocks the loop", reason=_MIGRATION)

    def _sync_session_type(self, annotation: cst.BaseExpression) -> bool:
        annotation = self.alias_target(annotation)
        if isinstance(annotation, cst.Subscript) and self.qnames(annotation.value) & {
            "typing.Annotated",
            "typing_extensions.Annotated",
        }:
            first = annotation.slice[0].slice
            return isinstance(first, cst.Index) and self._sync_session_type(first.value)
        return bool(self.qnames(annotation) & _SYNC_SESSIONS)

    def _sync_use(self, node: cst.CSTNode) -> str | None:
        """What sync database object `node` is: a call that makes one, or a name bound to one."""
        if isinstance(node, cst.Call):
            names = self.qnames(node.func)
            if names & (_CREATE_ENGINE | _SQLMODEL_CREATE_ENGINE):
                return "create_engine() (a sync engine)"
            if names & _SYNC_SESSIONS:
                return f"a sync Session `{_code(node.func)}()`"
            return None
        if not isinstance(node, cst.Name):
            return None
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return None
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or node.value not in scope:
            return None
        assignments = list(scope[node.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, GlobalScope):
            return None
        if isinstance(assignments[0], ImportAssignment):
            # Made in another module of the project (the plan read it there).
            imported = (self.planned or {}).get(node.value)
            if imported == "engine":
                return f"the sync engine `{node.value}` (create_engine)"
            if imported == "factory":
                return f"the sync session factory `{node.value}`"
            return None
        call = self.assigned_call(_assignment_node(assignments[0]))
        if call is None:
            return None
        if self.qnames(call.func) & (_CREATE_ENGINE | _SQLMODEL_CREATE_ENGINE):
            return f"the sync engine `{node.value}` (create_engine)"
        if self.sessionmaker_kind(call) == "sync":
            return f"the sync session factory `{node.value}`"
        return None


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


_MAKES_FACTORY = _calls_pattern(_MAKER_TAILS)
_MAKES_SYNC = _calls_pattern(_tails(_CREATE_ENGINE | _SQLMODEL_CREATE_ENGINE | _SESSIONMAKERS))


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


def imported_factories(index: ProjectIndex) -> dict[str, dict[str, str]]:
    """display path -> {local name: kind} of the session factories a module imports from
    another module of the project, where they are plain module-level sessionmakers."""
    makers: dict[str, ModuleInfo | None] = {}
    for file in index.files:
        data = index.data(file)
        if data is None or b"essionmaker" not in data:
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
        if callee in _SESSIONMAKERS | _ASYNC_SESSIONMAKERS
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


def _mentioning(index: ProjectIndex, names: set[str], *required: bytes) -> Iterator[ModuleInfo]:
    """Modules whose bytes hold one of `names` and every `required` token: only those are
    parsed (the index keeps what it parses)."""
    encoded = [n.encode() for n in names]
    for file in index.files:
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
        and info.resolve(stmt.value.func) in _SESSIONMAKERS | _ASYNC_SESSIONMAKERS
    ]
    if not made:
        return None
    if _bindings(info, name) != 1 or len(made) != 1:
        return "unknown"
    call = made[0]
    kind: Kind = "async" if info.resolve(call.func) in _ASYNC_SESSIONMAKERS else "sync"
    for keyword in call.keywords:
        if keyword.arg is None:
            return "unknown"  # **options could hold class_
        if keyword.arg == "class_":
            cls = info.resolve(keyword.value)
            if cls in _ASYNC_SESSIONS:
                return "async"
            return "sync" if cls in _SYNC_SESSIONS else "unknown"
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


def imported_sync_objects(index: ProjectIndex) -> dict[str, dict[str, str]]:
    """display path -> {local name: "engine" | "factory"}: the sync engines and session
    factories an async module imports from another module of the project (AF404)."""
    defined: dict[str, dict[str, str]] = {}
    # A module that assigns no engine or factory defines nothing: only the others count.
    for info in _modules_assigning(index, (b"create_engine", b"essionmaker"), _MAKES_SYNC):
        found: dict[str, str] = {}
        for name, (callee, _line) in info.assignments.items():
            if callee in _CREATE_ENGINE | _SQLMODEL_CREATE_ENGINE and _bindings(info, name) == 1:
                found[name] = "engine"
            elif callee in _SESSIONMAKERS and _module_factory_kind(info, name) == "sync":
                found[name] = "factory"
        if found:
            defined[info.name] = found
    if not defined:
        return {}
    plans: dict[str, dict[str, str]] = {}
    names = {name for found in defined.values() for name in found}
    for info in _mentioning(index, names, b"async"):
        imported: dict[str, str] = {}
        for local, qualified in info.imports.items():
            module, _, attr = qualified.rpartition(".")
            what = defined.get(module, {}).get(attr)
            if what is not None and module != info.name:
                imported[local] = what
        if imported:
            plans[info.path] = imported
    return plans


CODEMODS = (SyncSessionInAsync, SessionCodemod)
