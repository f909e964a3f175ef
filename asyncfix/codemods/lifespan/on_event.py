"""AF301: on_event handlers -> a lifespan context manager."""

from __future__ import annotations

import libcst as cst

from asyncfix.codemods.base import Rule
from asyncfix.codemods.lifespan.family import LifespanCodemod
from asyncfix.codemods.lifespan.migrate import apply_on_event
from asyncfix.codemods.lifespan.screen import ON_EVENT, screen_on_event
from asyncfix.codemods.shared.app_events import PLAN_TOKENS

AF301 = Rule(
    code="AF301",
    name="on-event-to-lifespan",
    summary="@app.on_event / add_event_handler / on_startup= -> one lifespan",
    why=(
        "on_event is deprecated, and passing lifespan= to FastAPI silently disables every "
        "on_event handler of that app: any later lifespan change (a shared client, an "
        "engine to dispose) would stop the startup code from running."
    ),
    fix=(
        "One @asynccontextmanager lifespan passed as FastAPI(lifespan=...), calling the "
        "original handlers (kept, they may be called elsewhere) in registration order, "
        "awaiting async ones, then `yield`, then the shutdown handlers in `finally:`. "
        "Handlers on included APIRouters, in any module, move too. All or nothing per app: "
        "when one handler cannot be moved (a lambda, a decorated or nested function, a "
        "computed event name, a router asyncfix cannot follow, an existing lifespan that "
        "is not a plain @asynccontextmanager function), nothing changes for that app and "
        "every site is reported with the reason."
    ),
    before=(
        "from fastapi import FastAPI\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        '@app.on_event("startup")\n'
        "async def connect():\n"
        "    await db.connect()\n"
        "\n"
        "\n"
        '@app.on_event("shutdown")\n'
        "def flush():\n"
        "    cache.flush()\n"
    ),
    after=(
        "from contextlib import asynccontextmanager\n"
        "\n"
        "from fastapi import FastAPI\n"
        "\n"
        "\n"
        "@asynccontextmanager\n"
        "async def lifespan(app: FastAPI):\n"
        "    await connect()\n"
        "    try:\n"
        "        yield\n"
        "    finally:\n"
        "        flush()\n"
        "\n"
        "\n"
        "app = FastAPI(lifespan=lifespan)\n"
        "\n"
        "\n"
        "async def connect():\n"
        "    await db.connect()\n"
        "\n"
        "\n"
        "def flush():\n"
        "    cache.flush()\n"
    ),
)


class OnEventToLifespan(LifespanCodemod):
    NAME = ON_EVENT
    RULES = (AF301,)
    TRIGGERS = (b"fastapi",)
    PLAN_COST = 0.13  # the family's scan, made by whichever plan comes first
    INDEXES = PLAN_TOKENS
    SCREEN = staticmethod(screen_on_event)

    def transform(self, module: cst.Module) -> cst.Module:
        entry = self.entry()
        if not entry or not (entry["strip"] or entry["refuse"]):
            return module
        self._module = module
        new, problem, sites = apply_on_event(module, entry, self.context)
        for site in sites:
            reason = site.reason or problem
            message = (
                "on_event is deprecated; lifespan= would silently disable it"
                if reason
                else "on_event handler moved into the app's lifespan"
            )
            self.report(site.node, "AF301", message, reason=reason)
        return new
