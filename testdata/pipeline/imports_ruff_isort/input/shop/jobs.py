import asyncio
from asyncio import Lock

from shop.db import database

_lock = Lock()


async def refresh():
    async with _lock:
        asyncio.create_task(database.execute("VACUUM"))
