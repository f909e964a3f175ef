import httpx2 as httpx
import httpx2 as hx
from httpx2 import AsyncClient, Timeout
import httpx._client


async def fetch(url):
    async with AsyncClient(timeout=Timeout(5)) as client:
        return (await client.get(url)).text, httpx.URL(url), hx.codes.OK
