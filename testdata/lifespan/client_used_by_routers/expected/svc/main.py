from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from .api import quotes, users


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Shared with the routers.
    app.state.http = httpx.AsyncClient(base_url="https://upstream.example", timeout=5)
    try:
        yield
    finally:
        await app.state.http.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(quotes.router)
app.include_router(users.router, prefix="/users")


@app.get("/ping")
async def ping():
    return (await app.state.http.get("/ping")).status_code
