import httpx
from fastapi import FastAPI

client = httpx.AsyncClient()
app = FastAPI()


async def fetch(url: str, http=client):
    return await http.get(url)
