import aiohttp


async def fetch(url, token):
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
            r = await session.get(
                url,
                params={"q": "x"},
                auth=aiohttp.BasicAuth("api", token),
                timeout=aiohttp.ClientTimeout(sock_connect=3, sock_read=3),
            )
            await r.read()
        r.raise_for_status()
    except aiohttp.ClientResponseError:
        return None
    return (
        r.ok,
        r.status,
        r.headers["content-type"],
        await r.json(content_type=None),
        await r.text(),
        await r.read(),
    )


async def direct(url):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return (await (await session.get(url)).json(content_type=None))["items"]


async def post_form(url):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return (await session.post(url, data={"a": "1"})).status
