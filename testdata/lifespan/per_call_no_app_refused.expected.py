import aiohttp
from fastapi import APIRouter

router = APIRouter()


@router.get("/ip")
async def ip():
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100, limit_per_host=20, ttl_dns_cache=300)
    ) as session:
        async with session.get("https://ip.example") as response:
            return await response.text()
