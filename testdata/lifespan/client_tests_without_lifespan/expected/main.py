import httpx
from fastapi import FastAPI

app = FastAPI()
client = httpx.AsyncClient()


@app.get("/y")
async def y():
    return (await client.get("https://example.org")).text
