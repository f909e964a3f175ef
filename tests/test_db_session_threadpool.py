"""AF404's rewrite run for real: the golden app of testdata/db_session/af404_threadpool_app,
as written and as asyncfix rewrites it (tests/test_golden.py proves the expected tree is
exactly asyncfix's output), served through Starlette's TestClient over SQLite.

Requests must answer the same before and after, and after the rewrite the converted path
operations and dependency do their SQL in FastAPI's thread pool, not on the event loop.
asyncfix itself never imports user code; this test does, on purpose.
"""

import importlib
import inspect
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

CASE = Path(__file__).resolve().parent.parent / "testdata" / "db_session" / "af404_threadpool_app"


def _load(tree: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    """Import `app` from a copy of the case's `tree` (input or expected), fresh."""
    root = tmp_path / tree
    shutil.copytree(CASE / tree, root)
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(root))
    # report.py imports routes.count: importing it proves the import chain still holds.
    names = ("db", "deps", "main", "report", "routes")
    return {name: importlib.import_module(f"app.{name}") for name in names}


@pytest.fixture(autouse=True)
def _forget_app() -> Iterator[None]:
    yield
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
        del sys.modules[name]


def _serve(modules: dict[str, ModuleType]) -> tuple[list[Any], dict[str, set[str]]]:
    """Run the same requests; return their answers and, per request, the threads its
    SQL ran on (a worker of the thread pool or not)."""
    db = modules["db"]
    db.Base.metadata.create_all(db.engine)
    with db.SessionLocal() as session:
        session.add_all([db.User(token="alice"), db.User(token="bob")])
        session.commit()
    threads: set[str] = set()

    def record(*args: Any) -> None:
        worker = threading.current_thread().name.startswith("AnyIO worker thread")
        threads.add("pool" if worker else "loop")

    event.listen(db.engine, "before_cursor_execute", record)
    answers: list[Any] = []
    used: dict[str, set[str]] = {}
    requests = [
        ("post", "/items/apple", "alice"),
        ("post", "/items/pear", "alice"),
        ("post", "/items/plum", "bob"),
        ("get", "/items", "alice"),
        ("get", "/items", "bob"),
        ("delete", "/items/pear", "alice"),
        ("get", "/items", "alice"),
        ("get", "/items", "mallory"),
        ("get", "/count", "alice"),
    ]
    with TestClient(modules["main"].app) as client:
        for method, url, token in requests:
            threads.clear()
            response = client.request(method, url, headers={"x-token": token})
            answers.append((method, url, token, response.status_code, response.json()))
            used[f"{method} {url} {token}"] = set(threads)
    return answers, used


def test_rewritten_app_answers_the_same_from_the_thread_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, before_threads = _serve(_load("input", tmp_path, monkeypatch))
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
        del sys.modules[name]
    after_modules = _load("expected", tmp_path, monkeypatch)
    after, after_threads = _serve(after_modules)

    assert after == before
    assert ("get", "/items", "alice", 200, ["apple", "pear"]) in after
    assert ("delete", "/items/pear", "alice", 200, {"deleted": 1}) in after
    assert ("get", "/items", "alice", 200, ["apple"]) in after
    assert ("get", "/items", "mallory", 401, {"detail": "unknown token"}) in after
    assert ("get", "/count", "alice", 200, 2) in after

    # Before: the async path operations and dependency query on the loop.
    assert "loop" in before_threads["get /items alice"]
    assert "loop" in before_threads["post /items/apple alice"]
    # After: every query of the converted ones runs in the pool.
    assert after_threads["get /items alice"] == {"pool"}
    assert after_threads["post /items/apple alice"] == {"pool"}
    assert after_threads["get /items mallory"] == {"pool"}
    assert "loop" in before_threads["delete /items/pear alice"]
    assert after_threads["delete /items/pear alice"] == {"pool"}
    # `count` is awaited by app/report.py: left async (reported), still on the loop.
    assert "loop" in after_threads["get /count alice"]

    routes, deps = after_modules["routes"], after_modules["deps"]
    assert not inspect.iscoroutinefunction(routes.list_items)
    assert not inspect.iscoroutinefunction(routes.add_item)
    assert not inspect.iscoroutinefunction(routes.remove_item)
    assert not inspect.iscoroutinefunction(deps.get_current_user)
    assert inspect.iscoroutinefunction(routes.count)
