from time import monotonic, sleep


async def backoff(attempt):
    sleep(2**attempt)
    return monotonic()
