import httpx2
import requests


async def both(url):
    try:
        async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
            first = (await client.get(url)).status_code
        second = requests.get(url, verify=False).status_code
    except (requests.Timeout, httpx2.TimeoutException):
        return None
    return first + second
