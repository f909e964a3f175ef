from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.session = aiohttp.ClientSession(headers={"User-Agent": "shop/1.0"})
    print("starting")
    yield
    print("stopped")
    await app.state.session.close()


app = FastAPI(lifespan=lifespan)


@app.get("/status")
async def status():
    async with app.state.session.get("https://status.example") as response:
        return await response.json()
