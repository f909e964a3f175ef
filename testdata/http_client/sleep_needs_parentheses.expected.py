import asyncio


async def odd():
    first = (await asyncio.sleep(1)).__class__
    second = (await asyncio.sleep(2))
    third = await asyncio.sleep(3) or "done"
    return first, second, third
