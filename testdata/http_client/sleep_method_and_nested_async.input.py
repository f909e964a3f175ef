import time


class Client:
    async def close(self):
        time.sleep(0.1)

    def sync_close(self):
        async def inner():
            time.sleep(0.2)

        return inner
