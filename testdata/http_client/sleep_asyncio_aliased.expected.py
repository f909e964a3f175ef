import asyncio as aio


async def tick():
    await aio.sleep(1)
    await aio.sleep(0)
