from contextlib import asynccontextmanager

import aiohttp
import requests
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit_per_host=20, ttl_dns_cache=300)
    )
    app.state.aiohttp_session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit_per_host=20, ttl_dns_cache=300)
    )
    await announce()
    try:
        yield
    finally:
        await app.state.session.close()
        await app.state.aiohttp_session.close()


app = FastAPI(lifespan=lifespan)


async def announce():
    print("up")


@app.get("/status")
async def status(url: str):
    return requests.get(url).status_code


@app.get("/page")
async def page():
    http = app.state.aiohttp_session
    async with http.get("https://upstream.example") as response:
        return await response.text()


@app.get("/shared")
async def shared():
    async with app.state.session.get("https://upstream.example") as response:
        return await response.text()
