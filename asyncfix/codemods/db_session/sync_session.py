"""AF404: sync SQLAlchemy sessions and engines in async path operations and dependencies:
made plain defs, which FastAPI runs in its thread pool, where FastAPI is their one caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    ScopeProvider,
)

from asyncfix.codemods.base import FileRun, Rule
from asyncfix.codemods.critical import shared_write
from asyncfix.codemods.db_session._shared import (
    DbCodemod,
    assignment_node,
    body_statements,
    code_of,
)
from asyncfix.codemods.db_session.names import (
    CREATE_ALL,
    CREATE_ENGINE,
    DEPENDENCY_CALLEES,
    METADATA,
    SQLMODEL_CREATE_ENGINE,
    SYNC_PASS,
    SYNC_SESSIONS,
)
from asyncfix.codemods.db_session.plan import sync_def_plan
from asyncfix.codemods.db_session.screen import screen_sync_session
from asyncfix.codemods.shared.async_def_facts import awaits_in
from asyncfix.codemods.shared.async_def_plan import OneFileIndex
from asyncfix.codemods.shared.routes import ROUTE_METHODS
from asyncfix.config import Config
from asyncfix.files import SourceFile

if TYPE_CHECKING:
    from asyncfix.index import ProjectIndex


AF404 = Rule(
    code="AF404",
    name="sync-session-in-async",
    summary="sync Session / create_engine in an async path operation or dependency -> def",
    why=(
        "A sync Session does its I/O on the calling thread; in an async def path operation "
        "or dependency that thread is the event loop's, so every query stalls every other "
        "request. FastAPI runs a plain def path operation or dependency in its thread pool."
    ),
    fix=(
        "An async def path operation (also a method of a class-based view) or dependency "
        "that uses a sync Session, engine, session factory or create_all() and never awaits "
        "becomes a plain def, which FastAPI runs in its thread pool. Only where FastAPI is "
        "its one caller: not when the project uses the function otherwise (a direct call "
        "may await it), when it is decorated by anything but the router, defined inside a "
        "function, a generator, awaits, uses asyncio, or writes shared state (module "
        "globals, attributes of self) that threads would then race on. Those are reported "
        "with the way the session arrives: make them def by hand, or migrate to "
        "create_async_engine, async_sessionmaker and AsyncSession with awaited calls."
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
        "def items(db: Session = Depends(get_db)):\n"
        "    return db.query(Item).all()\n"
    ),
    valid=(
        # The async stack: awaited calls on an AsyncSession keep the loop free.
        "from fastapi import Depends, FastAPI\n"
        "from sqlalchemy import select\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.get("/items")\n'
        "async def items(db: AsyncSession = Depends(get_db)):\n"
        "    return (await db.scalars(select(Item))).all()\n",
    ),
)


_PER_CALL = "create_engine()"
# The classes whose decorator keeps their routes plain methods of a per-request instance.
_VIEW_DECORATORS = frozenset({"cbv"})
_ASYNC_LIBRARIES = ("asyncio.", "anyio.")
_MIGRATE = "migrate to create_async_engine, async_sessionmaker and AsyncSession with awaited calls"
_OFFER = (
    "make it a plain def by hand where that is safe (FastAPI runs those in its thread "
    f"pool), or {_MIGRATE}"
)
_AWAITS = "it awaits too, which a def cannot"
_OFFER_AWAITING = (
    f"{_MIGRATE}, or move the database work into a def called with `await asyncio.to_thread(...)`"
)


def _dependency_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The dependency of a Depends()/Security() call: its first argument or `dependency=`."""
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value == "dependency":
            return arg.value
    return None


def _local_plan(run: FileRun) -> Mapping[str, Any]:
    """AF404's plan with this file as the whole project (no plan phase ran)."""
    file = SourceFile(Path(run.path), run.path)
    data = run.bytes_of(run.original)
    return sync_def_plan(OneFileIndex(file, data)).get(run.path, {})


@dataclass
class _Verdict:
    """An async def AF404 looks at: what it is to FastAPI and the sync database work in it."""

    kind: str  # "path operation" | "dependency"
    sites: list[tuple[cst.CSTNode, str]]  # (node, how the session or engine arrives)
    refusal: str | None  # why it is not made a def, as far as the original tree tells
    view: bool  # a method of a class-based view: `self` is made for each request


@dataclass
class _Class:
    name: str
    attributes: dict[str, str]  # class attribute -> how its sync Session arrives
    refusal: str | None  # a class decorator that may rely on coroutine methods
    view: bool  # decorated with cbv: an instance per request, its attributes injected


class SyncSessionInAsync(DbCodemod):
    NAME = SYNC_PASS
    RULES = (AF404,)
    TRIGGERS = (b"async",)
    # (sync_def_plan: `imported` for modules holding b"async", `providers` for those holding
    # Depends or Security, `dependencies` and `used` for modules with an async def)
    PLAN_REACH = (b"async", b"Depends", b"Security")
    PLAN_COST = 0.19
    SCREEN = staticmethod(screen_sync_session)
    # Last: it judges the body every other family has rewritten. One that made it await
    # keeps it async; AF601 may un-await calls in it (then a def is fine, and the next
    # run must not find it different).
    AFTER = ("*", "awaits", "db-session", "async-without-await")

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return sync_def_plan(index)

    def transform(self, module: cst.Module) -> cst.Module:
        self.facts: Mapping[str, Any] = (
            self.planned if self.planned is not None else _local_plan(self.run)
        )
        self.stack: list[cst.FunctionDef | _Class] = []
        self.verdicts: dict[cst.FunctionDef, _Verdict] = {}
        return super().transform(module)

    # -- what the session's plan reads of imported names -----------------------------------

    def _imported(self, name: str) -> str | None:
        imported = self.facts.get("imported") or {}
        found = imported.get(name)
        return found if isinstance(found, str) else None

    # -- classes: class-based views --------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        attributes: dict[str, str] = {}
        statements = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for statement in statements:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.AnnAssign)
                    and isinstance(small.target, cst.Name)
                    and self._sync_session_type(small.annotation.annotation)
                ):
                    attributes[small.target.value] = (
                        f"sync Session `self.{small.target.value}` from the class attribute "
                        f"`{code_of(small).strip()}`"
                    )
        refusal = None
        view = False
        for decorator in node.decorators:
            func = decorator.decorator
            func = func.func if isinstance(func, cst.Call) else func
            if (get_full_name_for_node(func) or "").rpartition(".")[2] in _VIEW_DECORATORS:
                view = True
            else:
                refusal = (
                    f"its class is decorated with @{code_of(decorator.decorator)}, which may "
                    "rely on coroutine methods"
                )
        self.stack.append(_Class(node.name.value, attributes, refusal, view))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.stack.pop()
        return updated_node

    # -- functions -------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = list(self.stack)
        self.stack.append(node)
        if node.asynchronous is None:
            return
        kind = self._kind(node, outer)
        if kind is None:
            return
        owner = outer[-1] if outer and isinstance(outer[-1], _Class) else None
        sites = self._sites(node, owner)
        if sites:
            refusal = self._refusal(node, kind, outer)
            view = owner is not None and owner.view
            self.verdicts[node] = _Verdict(kind, sites, refusal, view)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.stack.pop()
        verdict = self.verdicts.pop(original_node, None)
        if verdict is None:
            return updated_node
        name = original_node.name.value
        where = f"async {verdict.kind} `{name}`"
        refusal = verdict.refusal or self._body_refusal(original_node, updated_node, verdict.view)
        if refusal is None:
            arrivals = "; ".join(dict.fromkeys(what for _, what in verdict.sites))
            message = (
                f"{where} does sync database work on the event loop ({arrivals}); "
                "made a plain def, which FastAPI runs in its thread pool"
            )
            if any(what.startswith(_PER_CALL) for _, what in verdict.sites):
                message += (
                    "; it still builds an engine on every call: create it once, at module "
                    "level or in the lifespan"
                )
            if self.report(original_node.name, "AF404", message):
                return updated_node.with_changes(asynchronous=None)
            return updated_node
        lines: set[int] = set()
        for site, what in verdict.sites:
            position = self._position(site)
            line = position.start.line if position else 0
            if line in lines:
                continue  # one finding per line is enough to point at it
            lines.add(line)
            offer = _OFFER_AWAITING if refusal == _AWAITS else _OFFER
            self.report(
                site, "AF404", f"{what} in {where} blocks the loop", reason=f"{refusal}: {offer}"
            )
        return updated_node

    def _kind(self, node: cst.FunctionDef, outer: list[cst.FunctionDef | _Class]) -> str | None:
        """What the async def is to FastAPI: a path operation, a dependency, or nothing."""
        if any(self._route(d) for d in node.decorators):
            return "path operation"
        dependencies = self.facts.get("dependencies") or ()
        if not outer and node.name.value in dependencies:
            return "dependency"
        return None

    @staticmethod
    def _route(decorator: cst.Decorator) -> bool:
        call = decorator.decorator
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in ROUTE_METHODS
        )

    def _refusal(
        self, node: cst.FunctionDef, kind: str, outer: list[cst.FunctionDef | _Class]
    ) -> str | None:
        """Why FastAPI may not be the function's one caller, on the original tree."""
        if any(isinstance(o, cst.FunctionDef) for o in outer) or len(outer) > 1:
            return (
                "it is defined inside a function or a nested class, where asyncfix cannot "
                "see every caller"
            )
        for decorator in node.decorators:
            if not self._route(decorator):
                return (
                    f"decorated with @{code_of(decorator.decorator)}, which may rely on a "
                    "coroutine function"
                )
        owner = outer[0] if outer else None
        if isinstance(owner, _Class) and owner.refusal is not None:
            return owner.refusal
        key = ".".join([*(o.name for o in outer if isinstance(o, _Class)), node.name.value])
        used = (self.facts.get("used") or {}).get(key)
        if used is not None:
            return f"also used at {used}, where a caller may await it"
        if self.is_generator(node):
            return f"an async generator {kind}: its session is handed on, not used here"
        return None

    def _body_refusal(
        self, original: cst.FunctionDef, updated: cst.FunctionDef, view: bool
    ) -> str | None:
        """Why the body (as the other families left it) must stay on the event loop."""
        if awaits_in(updated):
            return _AWAITS
        for inner in self.own_nodes(original):
            if isinstance(inner, cst.Name | cst.Attribute):
                for name in sorted(self.qnames(inner)):
                    if name.startswith(_ASYNC_LIBRARIES):
                        return f"it uses {name}, which needs the event loop's thread"
        statements = body_statements(original)
        scope = self.get_metadata(ScopeProvider, statements[0], None) if statements else None
        written = shared_write(original, scope, own_instance=view, module=self.run.original)
        if written is not None:
            return f"it writes {written}, which the thread pool's threads would race on"
        return None

    # -- the sync database work and how it arrives ------------------------------------------

    def _sites(self, node: cst.FunctionDef, owner: _Class | None) -> list[tuple[cst.CSTNode, str]]:
        sites: list[tuple[cst.CSTNode, str]] = []
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for param in params:
            if param.annotation is not None and self._sync_session_type(
                param.annotation.annotation
            ):
                sites.append((param, self._arrival(param)))
            else:
                provided = self._provided(param)
                if provided is not None:
                    sites.append((param, provided))
        seen: set[str] = set()
        self_name = params[0].name.value if owner is not None and params else None
        for inner in self.own_nodes(node):
            what = self._sync_use(inner)
            if (
                what is None
                and self_name is not None
                and owner is not None
                and isinstance(inner, cst.Attribute)
                and isinstance(inner.value, cst.Name)
                and inner.value.value == self_name
            ):
                what = owner.attributes.get(inner.attr.value)
            if what is None or what in seen:
                continue
            seen.add(what)
            sites.append((inner, what))
        return sites

    def _arrival(self, param: cst.Param) -> str:
        """How a sync Session parameter arrives: `Depends(get_db)`, an alias, or a caller."""
        name = f"sync Session `{param.name.value}`"
        assert param.annotation is not None
        annotation = param.annotation.annotation
        depends = self._depends_in(param.default) or self._depends_in(self.alias_target(annotation))
        alias = code_of(annotation) if isinstance(annotation, cst.Name) else None
        aliased = alias is not None and self.alias_target(annotation) is not annotation
        if depends is not None and aliased:
            return f"{name} from {alias} ({depends})"
        if depends is not None:
            return f"{name} from {depends}"
        return f"{name} passed by its caller"

    def _provided(self, param: cst.Param) -> str | None:
        """`db=Depends(get_db)` where the plan found that `get_db` hands out a sync Session."""
        providers = self.facts.get("providers") or {}
        annotation = param.annotation.annotation if param.annotation else None
        for where in (param.default, self.alias_target(annotation) if annotation else None):
            call = self._depends_call(where)
            if call is None:
                continue
            argument = _dependency_argument(call)
            written = code_of(argument) if argument is not None else None
            if written is not None and written in providers:
                return (
                    f"sync Session `{param.name.value}` from {code_of(call)} "
                    f"(`{providers[written]}` hands out a sync Session)"
                )
        return None

    def _depends_in(self, node: cst.CSTNode | None) -> str | None:
        call = self._depends_call(node)
        return code_of(call) if call is not None else None

    def _depends_call(self, node: cst.CSTNode | None) -> cst.Call | None:
        """The first Depends()/Security() call in `node`."""
        stack = [node] if node is not None else []
        while stack:
            current = stack.pop()
            if (
                isinstance(current, cst.Call)
                and (get_full_name_for_node(current.func) or "").rpartition(".")[2]
                in DEPENDENCY_CALLEES
            ):
                return current
            stack.extend(reversed(current.children))
        return None

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
                return f"{_PER_CALL} (a sync engine)"
            if names & SYNC_SESSIONS:
                return f"a sync Session `{code_of(node.func)}()`"
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == CREATE_ALL
                and isinstance(func.value, cst.Attribute)
                and func.value.attr.value == METADATA
            ):
                return f"`{code_of(func)}()` (sync DDL on every call)"
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
            imported = self._imported(node.value)
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
