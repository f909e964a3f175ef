import asyncio

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: "set[asyncio.Task[object]]" = set()


async def notify(hub, event):
    # The project silenced ruff's twin of AF502 here: fire-and-forget on purpose.
    asyncio.create_task(hub.publish(event))  # noqa: RUF006
    task = asyncio.create_task(hub.audit(event))
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
