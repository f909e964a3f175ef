import time


async def timed(job):
    started = time.monotonic()
    time.sleep(1)
    return time.monotonic() - started
