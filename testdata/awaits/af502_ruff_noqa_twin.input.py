import asyncio


async def notify(hub, event):
    # The project silenced ruff's twin of AF502 here: fire-and-forget on purpose.
    asyncio.create_task(hub.publish(event))  # noqa: RUF006
    asyncio.create_task(hub.audit(event))
