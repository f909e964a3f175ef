import asyncio


async def wait(seconds):
    await asyncio.sleep(seconds)
