from contextlib import asynccontextmanager

from httpx import AsyncClient
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = AsyncClient()
    try:
        yield
    finally:
        await app.state.http_client.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/a")
async def a():
    client = app.state.http_client
    return (await client.get("https://a.example")).json()
