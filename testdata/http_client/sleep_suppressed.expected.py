import asyncio
import time


async def pauses():
    time.sleep(1)  # asyncfix: ignore
    time.sleep(2)  # asyncfix: ignore[AF203]
    time.sleep(3)  # asyncfix: ignore[http_client]
    await asyncio.sleep(4)  # asyncfix: ignore[AF1]
    value = max(  # asyncfix: ignore[AF2]
        time.sleep(5),
        0,
    )
    return value
