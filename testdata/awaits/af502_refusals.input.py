import asyncio

_background_tasks = []  # a list: not the set AF502 writes


def sync_entry(work):
    asyncio.create_task(work())


async def shared_line(work):
    x = 1; asyncio.create_task(work())
    return x


async def list_taken(work):
    asyncio.create_task(work())
