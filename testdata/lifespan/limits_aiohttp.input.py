import aiohttp


async def crawl(urls):
    connector = aiohttp.TCPConnector(ssl=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in urls:
            await session.get(url)


async def tuned():
    # Chosen by hand: kept as is.
    connector = aiohttp.TCPConnector(limit=10)
    return aiohttp.ClientSession(connector=connector)


async def fetch(url):
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        return await session.get(url)


async def passthrough(**options):
    return aiohttp.ClientSession(**options)


def make_session():
    # Lives as long as its caller keeps it: it gets the configured limits.
    return aiohttp.ClientSession(raise_for_status=True)
