import time


async def lazy(items):
    return (time.sleep(x) for x in items)
