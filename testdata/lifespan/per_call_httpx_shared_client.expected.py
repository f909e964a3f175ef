from contextlib import asynccontextmanager

from httpx import AsyncClient, Limits
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = AsyncClient(
        limits=Limits(max_connections=100, max_keepalive_connections=20)
    )
    try:
        yield
    finally:
        await app.state.http_client.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/a")
async def a():
    client = app.state.http_client
    return (await client.get("https://a.example")).json()
