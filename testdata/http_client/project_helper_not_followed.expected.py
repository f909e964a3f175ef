import asyncio
import functools
import time
from contextlib import contextmanager


def ticks():
    while True:
        time.sleep(1)
        yield


@contextmanager
def pause():
    time.sleep(1)
    yield


@functools.lru_cache
def slow_config():
    time.sleep(1)
    return {}


async def handler():
    gen = ticks()
    with pause():
        pass
    return gen, await asyncio.to_thread(slow_config)


async def fine():
    def sync_part():
        return slow_config()

    return sync_part
