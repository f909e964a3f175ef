import asyncio
import threading
import time

_lock = threading.Lock()


async def critical():
    with _lock:
        time.sleep(0.1)
    with open("log.txt") as fh:
        await asyncio.sleep(0.2)
        fh.write("done")
