import threading
import time
import asyncio

_lock = threading.Lock()


async def critical():
    with _lock:
        time.sleep(0.1)
    with open("log.txt") as fh:
        await asyncio.sleep(0.2)
        fh.write("done")
