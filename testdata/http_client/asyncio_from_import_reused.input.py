"""The module reaches asyncio through `from asyncio import ...`: no second import of it."""

import subprocess
import time
from asyncio import Lock

_lock = Lock()


async def pause():
    async with _lock:
        pass
    time.sleep(1)


async def deploy(tag):
    return subprocess.check_output(["deploy", tag])
