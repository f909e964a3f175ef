import asyncio


async def f():
    await asyncio.sleep(1)
