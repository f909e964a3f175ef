import asyncio


async def _job():
    return 1


async def _stored():
    return 2


async def _returned():
    return 3


HANDLERS = {"stored": _stored}


async def main():
    asyncio.create_task(_job())
    return _returned()
