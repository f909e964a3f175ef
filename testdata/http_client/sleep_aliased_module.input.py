import time as t


async def wait(seconds):
    t.sleep(seconds)
