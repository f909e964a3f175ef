"""AF401's rewritten dependency against a real database: SQLite through aiosqlite.

The dependency under test is the golden OUTPUT in testdata/db_session (which
tests/test_golden.py proves is exactly what asyncfix writes for the input beside it),
loaded as test fixture code and served by a real FastAPI app over httpx's ASGI transport.
asyncfix itself never imports user code; this test does, on purpose.
"""

# No `from __future__ import annotations`: FastAPI must see the endpoints' annotations,
# which use a name local to make_app.
import asyncio
import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CASES = Path(__file__).resolve().parent.parent / "testdata" / "db_session"


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


def load_case(file: str, url: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import a golden file as a fresh module whose engine points at `url`."""
    monkeypatch.setenv("DB_SESSION_TEST_URL", url)
    path = CASES / file
    spec = importlib.util.spec_from_file_location(f"db_case_{path.name.split('.')[0]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_app(get_db: Callable[[], AsyncIterator[AsyncSession]]) -> FastAPI:
    app = FastAPI()
    Db = Annotated[AsyncSession, Depends(get_db)]

    @app.post("/items/{name}")
    async def create(name: str, db: Db) -> dict[str, str]:
        db.add(Item(name=name))
        await db.flush()  # the row is written inside the transaction; the scope decides
        return {"name": name}

    @app.post("/unflushed/{name}")
    async def create_unflushed(name: str, db: Db) -> dict[str, str]:
        db.add(Item(name=name))  # written only when the dependency commits
        return {"name": name}

    @app.post("/committed/{name}")
    async def create_and_commit(name: str, db: Db) -> dict[str, str]:
        db.add(Item(name=name))
        await db.commit()
        return {"name": name}

    @app.post("/crash/{name}")
    async def crash(name: str, db: Db) -> None:
        db.add(Item(name=name))
        await db.flush()
        raise RuntimeError("the endpoint failed after writing")

    @app.post("/reject/{name}")
    async def reject(name: str, db: Db) -> None:
        db.add(Item(name=name))
        await db.flush()
        raise HTTPException(status_code=409, detail="rejected after writing")

    return app


async def stored(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(Item.name))).scalars())


def checked_out(engine: AsyncEngine) -> int:
    # The file database gets SQLAlchemy's queue pool, which counts connections in use.
    pool: Any = engine.pool
    return int(pool.checkedout())


async def serve(
    module: ModuleType, requests: list[str], *, one_by_one: bool = False
) -> tuple[list[int], set[str], int]:
    """POST each path (concurrently, unless one by one); the status codes, the stored names,
    the connections still in use."""
    engine: AsyncEngine = module.engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    transport = httpx.ASGITransport(app=make_app(module.get_db), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            if one_by_one:
                responses = [await client.post(path) for path in requests]
            else:
                responses = await asyncio.gather(*(client.post(path) for path in requests))
        in_use = checked_out(engine)
        return [r.status_code for r in responses], await stored(engine), in_use
    finally:
        await engine.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"


def test_the_cases_under_test_are_the_rewrite() -> None:
    before = (CASES / "af401_async_tutorial.input.py").read_text()
    after = (CASES / "af401_async_tutorial.expected.py").read_text()
    assert "finally:\n        await db.close()" in before
    assert "async with SessionLocal() as db:" in after and "await db.commit()" in after


def test_success_commits_and_errors_roll_back(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_case("af401_async_tutorial.expected.py", url, monkeypatch)
    codes, names, in_use = asyncio.run(
        serve(module, ["/items/ok", "/crash/boom", "/reject/nope", "/committed/explicit"])
    )
    assert codes == [200, 500, 409, 200]
    assert names == {"ok", "explicit"}  # the failed requests' flushed rows are rolled back
    assert in_use == 0


def test_the_original_dependency_never_commits(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # What AF401 fixes: the tutorial's dependency silently drops work nobody committed.
    module = load_case("af401_async_tutorial.input.py", url, monkeypatch)
    codes, names, in_use = asyncio.run(serve(module, ["/items/lost", "/committed/kept"]))
    assert codes == [200, 200]
    assert names == {"kept"}
    assert in_use == 0


def test_fifty_concurrent_requests(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_case("af401_async_tutorial.expected.py", url, monkeypatch)
    paths = [
        f"/items/ok{i}" if i % 3 == 0 else f"/crash/bad{i}" if i % 3 == 1 else f"/reject/no{i}"
        for i in range(50)
    ]
    codes, names, in_use = asyncio.run(serve(module, paths))
    expected = [200 if i % 3 == 0 else 500 if i % 3 == 1 else 409 for i in range(50)]
    assert codes == expected
    assert names == {f"ok{i}" for i in range(0, 50, 3)}
    assert in_use == 0


def test_commit_on_exit_false_rolls_back_but_never_commits(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_case("af401_commit_on_exit_off.expected.py", url, monkeypatch)
    codes, names, in_use = asyncio.run(
        serve(module, ["/items/uncommitted", "/committed/explicit", "/crash/boom"])
    )
    assert codes == [200, 200, 500]
    assert names == {"explicit"}
    assert in_use == 0


async def run_jobs(module: ModuleType, jobs: list[tuple[str, bool]]) -> tuple[int, set[str], int]:
    """Run `module.record(name, fail)` concurrently; failures, stored names, connections in use."""
    engine: AsyncEngine = module.engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        results = await asyncio.gather(
            *(module.record(name, fail=fail) for name, fail in jobs), return_exceptions=True
        )
        failures = sum(isinstance(r, RuntimeError) for r in results)
        assert all(r is None or isinstance(r, RuntimeError) for r in results), results
        return failures, await stored(engine), checked_out(engine)
    finally:
        await engine.dispose()


def test_get_db_session_commits_jobs_and_rolls_back_failures(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AF403: the job now uses the generated get_db_session(), the dependency's twin.
    module = load_case("af403_twin_database.expected.py", url, monkeypatch)
    jobs = [(f"job{i}", i % 2 == 1) for i in range(50)]
    failures, names, in_use = asyncio.run(run_jobs(module, jobs))
    assert failures == 25
    assert names == {f"job{i}" for i in range(0, 50, 2)}
    assert in_use == 0


def test_the_original_job_never_commits(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_case("af403_twin_database.input.py", url, monkeypatch)
    failures, names, in_use = asyncio.run(run_jobs(module, [("lost", False), ("bad", True)]))
    assert (failures, names, in_use) == (1, set(), 0)


def test_a_commit_that_fails_after_the_response_rolls_back(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastAPI runs the dependency's code after `yield` once the response is sent
    # (docs/rule-details.md, AF401): the duplicate fails at commit, after the client got its
    # 200; nothing half-done stays and no connection leaks.
    module = load_case("af401_async_tutorial.expected.py", url, monkeypatch)
    codes, names, in_use = asyncio.run(
        serve(module, ["/items/dup", "/unflushed/dup"], one_by_one=True)
    )
    assert codes == [200, 200]
    assert names == {"dup"}
    assert in_use == 0
