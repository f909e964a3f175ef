"""The service's HTTP clients, shared by every router."""

import aiohttp
import httpx

# One session for the whole service.
SESSION = aiohttp.ClientSession()
http = httpx.AsyncClient(timeout=5)


async def fetch_status(url: str) -> int:
    async with SESSION.get(url) as response:
        return response.status
