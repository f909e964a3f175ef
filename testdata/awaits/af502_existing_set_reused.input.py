import asyncio

_background_tasks = set()


async def spawn(work):
    asyncio.create_task(work())
