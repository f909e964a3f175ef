"""The module reaches asyncio through `from asyncio import ...`: no second import of it."""

import subprocess
from asyncio import Lock, sleep, to_thread

_lock = Lock()


async def pause():
    async with _lock:
        pass
    await sleep(1)


async def deploy(tag):
    return await to_thread(subprocess.check_output, ["deploy", tag])
