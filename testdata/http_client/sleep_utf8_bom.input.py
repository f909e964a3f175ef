import time


async def f():
    time.sleep(1)
