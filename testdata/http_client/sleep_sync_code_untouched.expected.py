import time


def sync_retry():
    time.sleep(1)


async def handler(executor, loop):
    def in_thread():
        time.sleep(1)

    callback = lambda: time.sleep(2)  # noqa: E731
    await loop.run_in_executor(executor, time.sleep, 3)
    return in_thread, callback


class Poller:
    delay = time.sleep(0)
