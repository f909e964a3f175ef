from time import monotonic
import asyncio


async def backoff(attempt):
    await asyncio.sleep(2**attempt)
    return monotonic()
