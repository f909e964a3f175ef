from contextlib import asynccontextmanager

import httpx2
from fastapi import FastAPI

from .routers import orders


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = httpx2.AsyncClient(follow_redirects=True, timeout=None)
    try:
        yield
    finally:
        await app.state.http_client.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(orders.router)
