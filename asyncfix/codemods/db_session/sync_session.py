"""AF404: sync SQLAlchemy sessions and engines in async path operations (report only)."""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import Rule
from asyncfix.codemods.db_session._shared import (
    CREATE_ENGINE,
    SQLMODEL_CREATE_ENGINE,
    SYNC_SESSIONS,
    DbCodemod,
    assignment_node,
    code_of,
)
from asyncfix.codemods.db_session.plan import imported_sync_objects
from asyncfix.codemods.db_session.screen import SYNC_TAILS, Names, is_route, screen_facts
from asyncfix.codemods.helpers import ROUTE_METHODS
from asyncfix.config import Config
from asyncfix.index import walk, walk_statements

if TYPE_CHECKING:
    from asyncfix.index import ProjectIndex


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


def _sync_session_sites(
    tree: ast.Module, source: bytes, plan: Any, enabled: Collection[str]
) -> bool:
    """Could SyncSessionInAsync (AF404) report anything? Only in an async path operation,
    and only with a sync Session, create_engine or sessionmaker named in the module (or
    one imported from the project)."""
    if "AF404" not in enabled:
        return False
    if not plan and not any(tail.encode() in source for tail in SYNC_TAILS):
        return False
    # From the statements alone: most modules have no route, and the facts walk every
    # expression.
    if not any(is_route(stmt) for stmt in walk_statements(tree.body)):
        return False
    facts = screen_facts(tree)
    if plan:
        return True
    names = Names(facts, SYNC_TAILS)
    return any(
        isinstance(node, ast.Name | ast.Attribute | ast.Constant) and names.may_name(node)
        for node in walk(tree)
    )


# -- AF404: sync sessions in async path operations (report only) -----------------------------

_MIGRATION = (
    "report only: migrate to create_async_engine with an async driver URL "
    "(postgresql+asyncpg://), async_sessionmaker and AsyncSession with awaited calls, or make "
    "the path operation a plain def so that FastAPI runs it in its threadpool"
)


class SyncSessionInAsync(DbCodemod):
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
        return bool(self.qnames(annotation) & SYNC_SESSIONS)

    def _sync_use(self, node: cst.CSTNode) -> str | None:
        """What sync database object `node` is: a call that makes one, or a name bound to one."""
        if isinstance(node, cst.Call):
            names = self.qnames(node.func)
            if names & (CREATE_ENGINE | SQLMODEL_CREATE_ENGINE):
                return "create_engine() (a sync engine)"
            if names & SYNC_SESSIONS:
                return f"a sync Session `{code_of(node.func)}()`"
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
        call = self.assigned_call(assignment_node(assignments[0]))
        if call is None:
            return None
        if self.qnames(call.func) & (CREATE_ENGINE | SQLMODEL_CREATE_ENGINE):
            return f"the sync engine `{node.value}` (create_engine)"
        if self.sessionmaker_kind(call) == "sync":
            return f"the sync session factory `{node.value}`"
        return None
