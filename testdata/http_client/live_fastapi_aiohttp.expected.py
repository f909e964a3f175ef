"""A FastAPI app run by tests/test_http_client_live.py before and after (it sets UPSTREAM)."""

from contextlib import asynccontextmanager

import aiohttp
import requests
from fastapi import Depends, FastAPI, Request

UPSTREAM = "http://127.0.0.1:9"


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout())
    try:
        yield
    finally:
        await app.state.http_client.close()


app = FastAPI(lifespan=lifespan)


async def upstream_user(token: str = "t", *, request: Request):
    r = await request.app.state.http_client.get(
        f"{UPSTREAM}/json", params={"user": token}
    )
    await r.read()
    r.raise_for_status()
    return (await r.json(content_type=None))["query"]


@app.get("/proxy/{name}")
async def proxy(name: str, user=Depends(upstream_user), *, request: Request):
    r = await request.app.state.http_client.get(
        f"{UPSTREAM}/json", params={"name": name}
    )
    await r.read()
    return {
        "upstream": await r.json(content_type=None),
        "ok": r.ok,
        "status": r.status,
        "user": user,
    }


@app.get("/missing")
async def missing():
    try:
        requests.get(f"{UPSTREAM}/missing").raise_for_status()
    except requests.HTTPError:
        return {"error": True}
    return {"error": False}


@app.get("/head")
async def head():
    return {"status": requests.head(f"{UPSTREAM}/redirect").status_code}


@app.post("/forward")
async def forward(payload: dict, request: Request):
    return await (
        await request.app.state.http_client.post(f"{UPSTREAM}/echo", json=payload)
    ).json(content_type=None)
