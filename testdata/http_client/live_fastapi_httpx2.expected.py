"""A FastAPI app run by tests/test_http_client_live.py before and after (it sets UPSTREAM)."""

from contextlib import asynccontextmanager

import httpx2
from fastapi import Depends, FastAPI, Request

UPSTREAM = "http://127.0.0.1:9"


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = httpx2.AsyncClient(follow_redirects=True, timeout=None)
    try:
        yield
    finally:
        await app.state.http_client.aclose()


app = FastAPI(lifespan=lifespan)


async def upstream_user(token: str = "t", *, request: Request):
    r = await request.app.state.http_client.get(
        f"{UPSTREAM}/json", params={"user": token}
    )
    r.raise_for_status()
    return r.json()["query"]


@app.get("/proxy/{name}")
async def proxy(name: str, user=Depends(upstream_user), *, request: Request):
    r = await request.app.state.http_client.get(
        f"{UPSTREAM}/json", params={"name": name}
    )
    return {
        "upstream": r.json(),
        "ok": not r.is_error,
        "status": r.status_code,
        "user": user,
    }


@app.get("/missing")
async def missing(request: Request):
    try:
        (
            await request.app.state.http_client.get(f"{UPSTREAM}/missing")
        ).raise_for_status()
    except httpx2.HTTPStatusError:
        return {"error": True}
    return {"error": False}


@app.get("/head")
async def head(request: Request):
    return {
        "status": (
            await request.app.state.http_client.head(
                f"{UPSTREAM}/redirect", follow_redirects=False
            )
        ).status_code
    }


@app.post("/forward")
async def forward(payload: dict, request: Request):
    return (
        await request.app.state.http_client.post(f"{UPSTREAM}/echo", json=payload)
    ).json()
