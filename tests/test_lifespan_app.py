"""The rewritten golden app (testdata/lifespan/runtime_app/expected) really works: imported
and driven through Starlette's TestClient, which runs the lifespan."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from starlette.testclient import TestClient

CASE = Path(__file__).resolve().parent.parent / "testdata" / "lifespan" / "runtime_app"


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, ModuleType]]:
    """The rewritten app's modules, imported fresh from the golden output."""
    monkeypatch.syspath_prepend(str(CASE / "expected"))
    for name in [n for n in sys.modules if n.split(".")[0] == "lifespan_demo"]:
        del sys.modules[name]
    with warnings.catch_warnings():
        # The output must not use deprecated APIs: on_event is gone from it.
        warnings.simplefilter("error", DeprecationWarning)
        main = importlib.import_module("lifespan_demo.main")
    routes = importlib.import_module("lifespan_demo.routes")
    yield main, routes
    for name in [n for n in sys.modules if n.split(".")[0] == "lifespan_demo"]:
        del sys.modules[name]


def test_the_golden_output_is_the_app_driven_here() -> None:
    source = (CASE / "expected" / "lifespan_demo" / "main.py").read_text()
    assert "on_event" not in source and "lifespan=lifespan" in source


def test_lifespan_runs_startup_shares_clients_and_closes_them(
    demo: tuple[ModuleType, ModuleType], caplog: pytest.LogCaptureFixture
) -> None:
    main, routes = demo
    app = main.app
    assert main.EVENTS == [] and routes.WARMED == []  # nothing runs at import time
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.ERROR), TestClient(app) as client:
            # Startup work ran, in registration order, the router's handler included.
            assert main.EVENTS == ["startup"]
            assert client.get("/warmed").json() == 1
            # One shared aiohttp session, open, for every request.
            first = client.get("/session").json()
            second = client.get("/session").json()
            assert first["open"] and second["open"]
            assert first["id"] == second["id"] == id(app.state.aiohttp_session)
            # The former import-time httpx client lives on app.state now.
            assert client.get("/client").json() == {"id": id(app.state.client), "open": True}
            assert client.get("/db").json() == 42
            pool = main.engine.sync_engine.pool  # dispose() replaces it
            session, http = app.state.aiohttp_session, app.state.client
            assert not session.closed and not http.is_closed
        # After shutdown: handlers ran, clients closed, the engine's pool disposed.
        assert main.EVENTS == ["startup", "shutdown"]
        assert session.closed and http.is_closed
        assert main.engine.sync_engine.pool is not pool
        del session, http
        app.state._state.clear()  # nothing keeps them alive: an unclosed one would warn now
        gc.collect()
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [text for text in messages if "Unclosed" in text or "Event loop is closed" in text]


def test_a_second_lifespan_gets_fresh_clients(demo: tuple[ModuleType, ModuleType]) -> None:
    # Clients bound to a lifespan, not to the module: a second app run (a second test, a
    # reload) does not reuse a session closed by the first.
    main, _ = demo
    with TestClient(main.app) as client:
        first = client.get("/session").json()["id"]
    with TestClient(main.app) as client:
        again = client.get("/session").json()
        assert again["open"] and again["id"] != first
