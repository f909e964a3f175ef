import asyncio

_background_tasks = set()


async def spawn(work):
    task = asyncio.create_task(work())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
