import aiohttp
from fastapi import FastAPI

app = FastAPI()


@app.get("/weather/{city}")
async def weather(city: str):
    # one lookup per request
    async with aiohttp.ClientSession() as session:  # TODO: reuse
        async with session.get(f"https://wx.example/{city}") as response:
            data = await response.json()
    return {"city": city, "temp": data["temp"]}


@app.get("/news")
async def news():
    async with aiohttp.ClientSession() as http:
        async with http.get("https://news.example") as response:
            return await response.json()
