from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    # one client for the whole process
    app.state.client = httpx.AsyncClient(base_url="https://api.example", timeout=5)
    await ping_upstream()
    try:
        yield
    finally:
        await app.state.client.aclose()


app = FastAPI(lifespan=lifespan)


async def ping_upstream():
    await app.state.client.get("/ping")


async def fetch_rate(currency: str) -> float:
    response = await app.state.client.get(f"/rates/{currency}")
    return response.json()["rate"]


@app.get("/convert")
async def convert(amount: float, currency: str):
    return {"amount": amount * await fetch_rate(currency)}
