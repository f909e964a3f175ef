import aiohttp
import httpx


def make_session():
    # Lives as long as the caller keeps it: its pool limits matter.
    return aiohttp.ClientSession(
        headers={"User-Agent": "crawler"},
        connector=aiohttp.TCPConnector(limit_per_host=20, ttl_dns_cache=300),
    )


def make_client():
    # httpx's own defaults are the configured values: nothing to write.
    return httpx.AsyncClient(base_url="https://api.example")


def no_cap():
    # A bare Limits() caps nothing; the configuration says what to cap.
    return httpx.AsyncClient(limits=httpx.Limits())


async def once(url):
    # Lives for one call: its pool goes with it.
    async with aiohttp.ClientSession() as session:
        return await session.get(url)
