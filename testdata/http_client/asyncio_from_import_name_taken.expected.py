import asyncio
from asyncio import Lock

_lock = Lock()
sleep = "the module's own name"


async def pause():
    await asyncio.sleep(1)
