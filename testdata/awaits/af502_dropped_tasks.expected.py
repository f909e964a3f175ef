import asyncio
from asyncio import create_task

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: "set[asyncio.Task[object]]" = set()

background = set()


async def work():
    return 1


async def spawn():
    task = asyncio.create_task(work())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    task = create_task(work())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    asyncio.ensure_future(work())
    loop = asyncio.get_running_loop()
    task = loop.create_task(work())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    kept = asyncio.create_task(work())
    background.add(kept)
    kept.add_done_callback(background.discard)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(work())  # the group keeps it
