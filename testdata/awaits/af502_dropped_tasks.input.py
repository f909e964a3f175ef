import asyncio
from asyncio import create_task

background = set()


async def work():
    return 1


async def spawn():
    asyncio.create_task(work())
    create_task(work())
    asyncio.ensure_future(work())
    loop = asyncio.get_running_loop()
    loop.create_task(work())
    kept = asyncio.create_task(work())
    background.add(kept)
    kept.add_done_callback(background.discard)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(work())  # the group keeps it
