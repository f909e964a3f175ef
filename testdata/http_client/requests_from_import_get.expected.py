import httpx2
from requests import get


async def mirror(url: str, target: str) -> int:
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        body = (await client.get(url)).content
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.post(target, json={"body": body.decode()})).status_code


def sync_still_uses_get(url: str) -> bytes:
    return get(url).content
