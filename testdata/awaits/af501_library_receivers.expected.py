import asyncio

import aiofiles
import aiohttp
import asyncpg
import httpx
import redis.asyncio as redis

client = httpx.AsyncClient()
cache = redis.Redis()


async def fetch(url):
    (await client.get(url)).json()
    response = await client.post(url)
    return response.status_code


async def store(key, value):
    await cache.set(key, value)
    pipe = cache.pipeline()  # not a coroutine
    pipe.set(key, value)  # queued on the pipeline: not a coroutine either
    await pipe.execute()


async def query(dsn):
    conn = await asyncpg.connect(dsn)
    await conn.execute("select 1")
    await conn.close()


async def download(url, path):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:  # session.get() is not a coroutine
            body = await resp.read()
            resp.release()  # not a coroutine
    async with aiofiles.open(path, "wb") as out:
        await out.write(body[:10])
    await session.close()


async def tick():
    await asyncio.sleep(0.1)
    await asyncio.wait_for(tick(), 1)
