"""A small app with every lifecycle killer of the lifespan family; tests/test_lifespan_app.py
drives the rewritten version (../expected) with Starlette's TestClient."""

from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from . import routes
from .routes import warm

EVENTS: list[str] = []

engine = create_async_engine("sqlite+aiosqlite://")


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.client = httpx.AsyncClient(base_url="http://upstream.invalid")
    app.state.aiohttp_session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit_per_host=20, ttl_dns_cache=300)
    )
    await warm()
    await startup()
    try:
        yield
    finally:
        shutdown()
        await app.state.client.aclose()
        await app.state.aiohttp_session.close()
        await engine.dispose()


app = FastAPI(title="demo", lifespan=lifespan)
app.include_router(routes.router)


async def startup() -> None:
    EVENTS.append("startup")


def shutdown() -> None:
    EVENTS.append("shutdown")


@app.get("/session")
async def session_info() -> dict[str, object]:
    session = app.state.aiohttp_session
    return {"id": id(session), "open": not session.closed}


@app.get("/client")
async def client_info() -> dict[str, object]:
    return {"id": id(app.state.client), "open": not app.state.client.is_closed}


@app.get("/db")
async def db() -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("select 41 + 1"))).scalar_one()
