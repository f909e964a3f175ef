import aiohttp
from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/weather/{city}")
async def weather(city: str, req: Request):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://wx.example/{city}") as response:
            return await response.json()


@router.get("/forecast/{city}")
async def forecast(city: str, days: int = 3):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://wx.example/{city}/{days}") as response:
            return await response.json()
