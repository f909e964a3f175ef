import asyncio


async def fine():
    await asyncio.sleep(1)
