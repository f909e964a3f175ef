import httpx
from fastapi import FastAPI

# one client for the whole process
client = httpx.AsyncClient(base_url="https://api.example", timeout=5)

app = FastAPI()


@app.on_event("startup")
async def ping_upstream():
    await client.get("/ping")


async def fetch_rate(currency: str) -> float:
    response = await client.get(f"/rates/{currency}")
    return response.json()["rate"]


@app.get("/convert")
async def convert(amount: float, currency: str):
    return {"amount": amount * await fetch_rate(currency)}
