from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.aiohttp_session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit_per_host=20, ttl_dns_cache=300)
    )
    try:
        yield
    finally:
        await app.state.aiohttp_session.close()


app = FastAPI(lifespan=lifespan)


@app.get("/weather/{city}")
async def weather(city: str):
    # one lookup per request
    session = app.state.aiohttp_session  # TODO: reuse
    async with session.get(f"https://wx.example/{city}") as response:
        data = await response.json()
    return {"city": city, "temp": data["temp"]}


@app.get("/news")
async def news():
    http = app.state.aiohttp_session
    async with http.get("https://news.example") as response:
        return await response.json()
