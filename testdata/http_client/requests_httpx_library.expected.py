import httpx


async def fetch(url):
    try:
        async with httpx.AsyncClient(follow_redirects=True, timeout=None) as client:
            r = await client.get(url, params={"q": "x"}, timeout=3)
        r.raise_for_status()
    except httpx.TimeoutException:
        return None
    return not r.is_error, r.json()
