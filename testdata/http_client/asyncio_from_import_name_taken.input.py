import time
from asyncio import Lock

_lock = Lock()
sleep = "the module's own name"


async def pause():
    time.sleep(1)
