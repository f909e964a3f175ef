import time

asyncio = "not the module"


async def tick():
    time.sleep(1)
