import httpx
from fastapi import FastAPI

client = httpx.AsyncClient(timeout=10)
app = FastAPI()


@app.get("/ping")
async def ping():
    return (await client.get("https://upstream.example/ping")).status_code
