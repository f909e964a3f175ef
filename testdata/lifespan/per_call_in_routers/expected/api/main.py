from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import FastAPI

from .routes import weather, news


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = httpx.AsyncClient()
    app.state.aiohttp_session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit_per_host=20, ttl_dns_cache=300)
    )
    try:
        yield
    finally:
        await app.state.http_client.aclose()
        await app.state.aiohttp_session.close()


app = FastAPI(lifespan=lifespan)
app.include_router(weather.router)
app.include_router(news.router, prefix="/news")
