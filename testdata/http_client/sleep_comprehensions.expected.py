import asyncio


async def eager(items):
    done = [await asyncio.sleep(x) for x in items]
    by_key = {x: await asyncio.sleep(x) for x in items}
    return done, by_key
