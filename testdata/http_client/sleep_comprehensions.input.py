import time


async def eager(items):
    done = [time.sleep(x) for x in items]
    by_key = {x: time.sleep(x) for x in items}
    return done, by_key
