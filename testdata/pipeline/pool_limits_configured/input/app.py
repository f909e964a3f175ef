import aiohttp
import requests
from fastapi import FastAPI

app = FastAPI()
session = aiohttp.ClientSession()


@app.on_event("startup")
async def announce():
    print("up")


@app.get("/status")
async def status(url: str):
    return requests.get(url).status_code


@app.get("/page")
async def page():
    async with aiohttp.ClientSession() as http:
        async with http.get("https://upstream.example") as response:
            return await response.text()


@app.get("/shared")
async def shared():
    async with session.get("https://upstream.example") as response:
        return await response.text()
