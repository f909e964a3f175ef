import asyncio
import time


async def timed(job):
    started = time.monotonic()
    await asyncio.sleep(1)
    return time.monotonic() - started
