from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI

session = aiohttp.ClientSession(headers={"User-Agent": "shop/1.0"})


@asynccontextmanager
async def lifespan(app: FastAPI):
    print("starting")
    yield
    print("stopped")


app = FastAPI(lifespan=lifespan)


@app.get("/status")
async def status():
    async with session.get("https://status.example") as response:
        return await response.json()
