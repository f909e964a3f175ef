from aiohttp import ClientSession

TCPConnector = object


async def fetch(url):
    async with ClientSession() as session:
        return await session.get(url)
