import httpx
import requests
from fastapi import FastAPI

app = FastAPI()
client = httpx.AsyncClient()


@app.on_event("startup")
async def first():
    print("first")


@app.get("/")
async def index(url: str):
    return requests.get(url).status_code


@app.get("/shared")
async def shared():
    return (await client.get("https://upstream.example")).status_code
