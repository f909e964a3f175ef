import aiohttp
from fastapi import APIRouter

router = APIRouter()


@router.get("/ip")
async def ip():
    async with aiohttp.ClientSession() as session:
        async with session.get("https://ip.example") as response:
            return await response.text()
