import httpx
import httpx as hx
from httpx import AsyncClient, Timeout
import httpx._client


async def fetch(url):
    async with AsyncClient(timeout=Timeout(5)) as client:
        return (await client.get(url)).text, httpx.URL(url), hx.codes.OK
