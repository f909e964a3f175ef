import time


@retry(on_fail=time.sleep(1))
async def fetch(pause=time.sleep(0)):
    return pause
