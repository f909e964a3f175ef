"""The family's prescreens (each codemod's SCREEN), on Python's ast before libcst parses:
this module imports no libcst, so the registry's manifest asks them without importing the
codemods (see asyncfix/codemods/catalog.py). Each must be conservative: False promises
that its codemod would neither change nor report anything in the file."""

from __future__ import annotations

import ast

from asyncfix.codemods.http_client.blocking_apis import POPEN, REQUESTS, SLEEP
from asyncfix.codemods.http_client.screen import imports_module
from asyncfix.codemods.view import SourceView


def screen_time_sleep(view: SourceView) -> bool:
    """AF203: only a call in an async def is a site (see TimeSleep.leave_Call)."""
    return SLEEP.may_occur(view.tree, ast.AsyncFunctionDef)


def screen_popen(view: SourceView) -> bool:
    """AF207: a site is a Popen call inside an async def (nested code too: see
    popen_to_asyncio.loop_context)."""
    return POPEN.may_occur(view.tree, ast.AsyncFunctionDef)


def screen_httpx_to_httpx2(view: SourceView) -> bool:
    """AF206: opt-in, and only an import of httpx (or of its submodules) is rewritten or
    reported."""
    return "AF206" in view.config.select and imports_module(view.tree, "httpx")


def screen_requests(view: SourceView) -> bool:
    """AF201, AF202: RequestsToAsync.screen's test on the ast, and only calls in an async
    def: every finding is one (see leave_Call and visit_With), and has a qualified name
    under `requests`, so needs its import. Of a plan only `add_shared` changes a file
    without either."""
    if (view.plans.get("requests-to-async") or {}).get("add_shared"):
        return True
    return REQUESTS.may_be_spelt(view.tree, ast.AsyncFunctionDef)
