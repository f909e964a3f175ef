"""Run against a local server by tests/test_http_client_live.py, before and after."""

import aiohttp


async def get_json(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        r = await session.get(f"{base}/json", params={"x": "1"})
        await r.read()
    r.raise_for_status()
    return r.status, await r.json(content_type=None)


async def post_json(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return await (await session.post(f"{base}/echo", json={"a": [1, 2]})).json(
            content_type=None
        )


async def post_form(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return await (await session.post(f"{base}/echo", data={"name": "a b"})).json(
            content_type=None
        )


async def follows_redirect(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        r = await session.get(f"{base}/redirect")
        await r.read()
    return r.status, await r.json(content_type=None)


async def head_does_not_follow(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return (await session.head(f"{base}/redirect")).status


async def redirect_not_followed(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return (await session.get(f"{base}/redirect", allow_redirects=False)).status


async def not_found(base):
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
            r = await session.get(f"{base}/missing")
            await r.read()
        r.raise_for_status()
    except aiohttp.ClientResponseError:
        return "http error"
    return "no error"


async def ok_flag(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        r = await session.get(f"{base}/missing")
        await r.read()
    return r.ok, not r.ok, r.status


async def text_and_content(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        r = await session.get(f"{base}/text")
        await r.read()
    return await r.text(), await r.read(), r.headers["content-type"]


async def session_calls(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as s:
        first = await (await s.get(f"{base}/json", params={"n": "1"})).json(
            content_type=None
        )
        second = await (await s.post(f"{base}/echo", json=[1, 2])).json(
            content_type=None
        )
    return first, second


async def connection_refused(dead_url):
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
            await session.get(dead_url)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        return "connection error"
    return "connected"


async def timed_out(base):
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
            await session.get(
                f"{base}/slow",
                timeout=aiohttp.ClientTimeout(sock_connect=0.2, sock_read=0.2),
            )
    except aiohttp.ServerTimeoutError:
        return "timeout"
    return "in time"


async def waited(base):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
        return await (await session.get(f"{base}/wait")).text()
