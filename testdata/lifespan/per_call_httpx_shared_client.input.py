from httpx import AsyncClient
from fastapi import FastAPI

app = FastAPI()


@app.get("/a")
async def a():
    async with AsyncClient() as client:
        return (await client.get("https://a.example")).json()
