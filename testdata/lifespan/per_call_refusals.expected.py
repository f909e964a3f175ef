import aiohttp
from fastapi import FastAPI

app = FastAPI()


async def with_options(token: str):
    async with aiohttp.ClientSession(headers={"Authorization": token}) as session:
        return await session.get("https://x.example")


async def closes_it():
    async with aiohttp.ClientSession() as session:
        await session.get("https://x.example")
        await session.close()


async def used_after():
    async with aiohttp.ClientSession() as session:
        await session.get("https://x.example")
    return session.closed


async def local_app():
    app = object()
    async with aiohttp.ClientSession() as session:
        return await session.get("https://x.example")
