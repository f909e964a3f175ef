import httpx
import requests
from fastapi import FastAPI

app = FastAPI()
client = httpx.AsyncClient()


@app.get("/x")
async def x():
    return requests.get("https://example.org").text


@app.get("/y")
async def y():
    return (await client.get("https://example.org")).text
