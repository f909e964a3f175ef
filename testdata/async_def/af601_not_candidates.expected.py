class Resource:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None


class Port:
    async def _send(self, data):
        """To implement."""
        ...


async def _numbers():
    yield 1


async def _awaits(other):
    await other()


async def _iterates(stream):
    async for item in stream:
        return item


async def _enters(resource):
    async with resource:
        return 1
