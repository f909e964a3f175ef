import asyncio
from time import monotonic


async def backoff(attempt):
    await asyncio.sleep(2**attempt)
    return monotonic()
