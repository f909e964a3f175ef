from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout())
    try:
        yield
    finally:
        await app.state.http_client.close()


app = FastAPI(lifespan=lifespan)


@app.get("/profile/{name}")
async def profile(name: str, request: Request):
    r = await request.app.state.http_client.get(
        f"http://upstream/{name}",
        timeout=aiohttp.ClientTimeout(sock_connect=5, sock_read=5),
    )
    await r.read()
    return await r.json(content_type=None)
