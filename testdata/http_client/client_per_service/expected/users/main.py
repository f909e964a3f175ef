from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = httpx.AsyncClient(follow_redirects=True, timeout=None)
    try:
        yield
    finally:
        await app.state.http_client.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/profile/{name}")
async def profile(name: str, request: Request):
    r = await request.app.state.http_client.get(f"http://upstream/{name}", timeout=5)
    return r.json()
