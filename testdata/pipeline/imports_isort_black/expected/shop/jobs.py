import asyncio
from asyncio import Lock

from shop.db import database

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: "set[asyncio.Task[object]]" = set()

_lock = Lock()


async def refresh():
    async with _lock:
        task = asyncio.create_task(database.execute("VACUUM"))
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)
