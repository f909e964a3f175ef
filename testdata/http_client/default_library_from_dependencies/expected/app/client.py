import aiohttp


async def fetch(url):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        r = await session.get(url)
        await r.read()
    return r.status, await r.json(content_type=None)
