import httpx
from fastapi import FastAPI

client = httpx.AsyncClient(
    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
)
app = FastAPI()


async def call(app, url):
    return await client.get(url)
