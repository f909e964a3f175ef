import asyncio


async def later():

    await asyncio.sleep(1)
    return 1
