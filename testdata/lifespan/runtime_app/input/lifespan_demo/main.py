"""A small app with every lifecycle killer of the lifespan family; tests/test_lifespan_app.py
drives the rewritten version (../expected) with Starlette's TestClient."""

import aiohttp
import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from . import routes

EVENTS: list[str] = []

engine = create_async_engine("sqlite+aiosqlite://")
client = httpx.AsyncClient(base_url="http://upstream.invalid")

app = FastAPI(title="demo")
app.include_router(routes.router)


@app.on_event("startup")
async def startup() -> None:
    EVENTS.append("startup")


@app.on_event("shutdown")
def shutdown() -> None:
    EVENTS.append("shutdown")


@app.get("/session")
async def session_info() -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        return {"id": id(session), "open": not session.closed}


@app.get("/client")
async def client_info() -> dict[str, object]:
    return {"id": id(client), "open": not client.is_closed}


@app.get("/db")
async def db() -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("select 41 + 1"))).scalar_one()
