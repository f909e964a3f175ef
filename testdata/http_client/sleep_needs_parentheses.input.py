import time


async def odd():
    first = time.sleep(1).__class__
    second = (time.sleep(2))
    third = time.sleep(3) or "done"
    return first, second, third
