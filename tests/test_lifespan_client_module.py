"""The rewritten client modules really work (issue 24, item 1): the golden outputs of
testdata/lifespan/client_module_* are imported and run. Importing creates no client; the
app's requests (or the bot's messages) share one, open; shutdown closes it."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

CASES = Path(__file__).resolve().parent.parent / "testdata" / "lifespan"


def _fresh(package: str) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == package]:
        del sys.modules[name]


@pytest.fixture
def imported(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    """sys.path set to one tree of a case (`case/tree`), its package forgotten after."""
    case, tree, package = request.param
    monkeypatch.syspath_prepend(str(CASES / case / tree))
    _fresh(package)
    yield package
    _fresh(package)


@pytest.mark.parametrize(
    "imported", [("client_module_lazy_app", "input", "lazyapp")], indirect=True
)
def test_the_original_crashes_at_import_on_current_aiohttp(imported: str) -> None:
    # What the rewrite fixes: aiohttp refuses a session without a running loop.
    with pytest.raises(RuntimeError, match="no running event loop"):
        importlib.import_module(f"{imported}.main")


@pytest.mark.parametrize(
    "imported", [("client_module_lazy_app", "expected", "lazyapp")], indirect=True
)
def test_app_shares_the_lazy_clients_and_closes_them(
    imported: str, caplog: pytest.LogCaptureFixture
) -> None:
    main = importlib.import_module(f"{imported}.main")
    clients: ModuleType = importlib.import_module(f"{imported}.clients")
    assert clients._SESSION is None and clients._http is None  # nothing at import time
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.ERROR), TestClient(main.app) as client:
            first = client.get("/items").json()
            second = client.get("/items").json()
            health = client.get("/health").json()
            assert first["session_open"] and first["http_open"] and health["open"]
            # One session and one client for every request, router and helper alike.
            assert first["session"] == second["session"] == health["session"]
            assert first["http"] == second["http"]
            session: Any = clients._SESSION
            http: Any = clients._http
            assert id(session) == first["session"] and id(http) == first["http"]
        assert main.EVENTS == ["startup", "shutdown"]  # the app's own lifespan still runs
        # Shutdown closed both, and a later lifespan would create new ones.
        assert session.closed and http.is_closed
        assert clients._SESSION is None and clients._http is None
        with TestClient(main.app) as client:
            assert client.get("/items").json()["session"] != id(session)
        del session, http
        gc.collect()
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [text for text in messages if "Unclosed" in text or "Event loop is closed" in text]


@pytest.mark.parametrize(
    "imported", [("client_module_bot_no_app", "expected", "mybot")], indirect=True
)
def test_bot_without_app_creates_its_clients_in_the_loop(imported: str) -> None:
    run = importlib.import_module(f"{imported}.run")
    net: ModuleType = importlib.import_module(f"{imported}.net")
    assert net._session is None and net._api is None  # nothing at import time

    async def bot() -> tuple[list[dict[str, object]], Any, Any]:
        replies = await run.main(["hello", "again"])
        session, api = net._session, net._api
        # What the finding asks of the bot's own shutdown.
        await net.close_session()
        await net.close_api()
        return replies, session, api

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replies, session, api = asyncio.run(bot())
        gc.collect()
    # Every message used the one session and the one client, open then; closed after.
    assert [r["session"] for r in replies] == [id(session)] * 2
    assert [r["api"] for r in replies] == [id(api)] * 2
    # The per-message helper's own `async with ClientSession()` became the shared one.
    assert [r["fetched"] for r in replies] == [id(session)] * 2
    assert all(r["open"] and r["api_open"] for r in replies)
    assert session.closed and api.is_closed and net._session is None
    assert not [w for w in caught if "Unclosed" in str(w.message)]
