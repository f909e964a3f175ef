import asyncio

from . import mid
from .mid import wait


async def retry(attempt):
    await asyncio.to_thread(mid.wait, attempt)
    await asyncio.to_thread(wait, attempt + 1)
    return attempt
