import threading

LOCK = threading.Lock()


async def flush():
    return None


async def guarded():
    with LOCK:
        flush()


async def suppressed():
    flush()  # asyncfix: ignore[AF501]
    flush()  # asyncfix: ignore
