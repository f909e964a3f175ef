import asyncio

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: set[asyncio.Task[object]] = set()


async def notify(user_id: int) -> None:
    await asyncio.sleep(0)


async def signup(user_id: int) -> dict[str, int]:
    task = asyncio.create_task(notify(user_id))
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    return {"id": user_id}
