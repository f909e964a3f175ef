import httpx
from fastapi import FastAPI

client = httpx.AsyncClient()
app = FastAPI()


async def call(app, url):
    return await client.get(url)
