import time


async def odd(args):
    time.sleep(*args)
    time.sleep(secs=1)
