import asyncio as aio
import time


async def tick():
    time.sleep(1)
    await aio.sleep(0)
