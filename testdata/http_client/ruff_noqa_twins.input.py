import subprocess
import time


async def poll(path):
    time.sleep(0.1)  # noqa: ASYNC251
    with open(path) as f:  # noqa: ASYNC230
        first = f.readline()
    subprocess.run(["sync"])  # noqa: ASYNC221
    time.sleep(0.2)
    return first
