import asyncio


async def ping():
    return 1


def sync_caller():
    ping()


def sync_result():
    value = ping()
    return value.real


on_click = lambda: ping()  # returns the coroutine: fine
lines = list(ping().real for _ in range(2))
ping()


async def in_async():
    gen = (ping().real for _ in range(2))
    return list(gen)
