import logging

import httpx2

log = logging.getLogger(__name__)


async def fetch(url):
    try:
        async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
            r = await client.get(url, timeout=5)
        r.raise_for_status()
    except httpx2.TimeoutException:
        log.warning("slow upstream")
        return None
    except httpx2.HTTPStatusError as exc:
        return exc.response.status_code
    except (httpx2.ConnectError, httpx2.ConnectTimeout, OSError):
        return None
    return r.content


async def later_check(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(url)
    try:
        r.raise_for_status()
    except httpx2.HTTPStatusError:
        return False
    return True


async def broad(url):
    try:
        async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
            return (await client.get(url)).status_code
    except httpx2.HTTPError:
        return 0
