"""AF305: a module-level async SQLAlchemy engine never disposed of -> disposed of after
`yield`."""

from __future__ import annotations

import libcst as cst

from asyncfix.codemods.base import Rule
from asyncfix.codemods.lifespan._shared import app_of, binding_site, cast_module
from asyncfix.codemods.lifespan.family import LifespanCodemod
from asyncfix.codemods.lifespan.migrate import why_no_lifespan
from asyncfix.codemods.lifespan.screen import DISPOSE_ENGINE, screen_dispose_engine
from asyncfix.codemods.shared.lifespan_builder import add_lifespan_resource
from asyncfix.codemods.shared.lifespan_sites import ENGINES

AF305 = Rule(
    code="AF305",
    name="engine-never-disposed",
    summary="module-level async SQLAlchemy engine never disposed -> dispose after yield",
    why=(
        "An AsyncEngine's pool holds open database connections; never disposed, they are "
        'dropped at interpreter exit without a goodbye ("connection reset" on the server, '
        "warnings about un-closed connections, event-loop-is-closed errors at shutdown)."
    ),
    fix=(
        "`await engine.dispose()` after the lifespan's yield, in the app that owns or imports "
        "the engine. Not done when the engine is disposed anywhere already; left for "
        "manual review when no app, or several, import it."
    ),
    before=(
        "from fastapi import FastAPI\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "\n"
        'engine = create_async_engine("postgresql+asyncpg://db/shop")\n'
        "app = FastAPI()\n"
    ),
    after=(
        "from contextlib import asynccontextmanager\n"
        "\n"
        "from fastapi import FastAPI\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "\n"
        'engine = create_async_engine("postgresql+asyncpg://db/shop")\n'
        "\n"
        "\n"
        "@asynccontextmanager\n"
        "async def lifespan(app: FastAPI):\n"
        "    try:\n"
        "        yield\n"
        "    finally:\n"
        "        await engine.dispose()\n"
        "\n"
        "\n"
        "app = FastAPI(lifespan=lifespan)\n"
    ),
)


class DisposeEngine(LifespanCodemod):
    NAME = DISPOSE_ENGINE
    RULES = (AF305,)
    AFTER = ("lifespan-client-per-call",)
    TRIGGERS = tuple(name.encode() for name in sorted(ENGINES.last_names))
    SCREEN = staticmethod(screen_dispose_engine)

    def transform(self, module: cst.Module) -> cst.Module:
        entry = self.entry()
        if not entry or not (entry.get("engines") or entry.get("engine_refuse")):
            return module
        self._module = module
        message = "async engine never disposed: its connections are dropped at exit"
        for var, reason in entry.get("engine_refuse", {}).items():
            site = binding_site(module, var)
            if site is not None:
                self.report(site, "AF305", message, reason=reason)
        app, app_problem = app_of(entry)
        for local, _app_var in entry.get("engines", []):
            site = binding_site(module, local)
            if site is None:
                continue
            dispose = cst.Await(
                cst.Call(func=cst.Attribute(value=cst.Name(local), attr=cst.Name("dispose")))
            )
            reason = app_problem
            added = None
            if reason is None:
                assert app is not None
                added = add_lifespan_resource(module, app, None, None, dispose)
                if added is None:
                    reason = why_no_lifespan(module, app)
                elif added is module:
                    continue  # already disposed there
            if self.report(site, "AF305", message, reason=reason) and app is not None:
                assert added is not None
                module = cast_module(
                    add_lifespan_resource(module, app, None, None, dispose, context=self.context)
                )
        return module
