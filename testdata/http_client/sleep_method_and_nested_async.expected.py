import asyncio


class Client:
    async def close(self):
        await asyncio.sleep(0.1)

    def sync_close(self):
        async def inner():
            await asyncio.sleep(0.2)

        return inner
