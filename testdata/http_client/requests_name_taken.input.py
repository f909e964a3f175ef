import requests

httpx2 = None


async def fetch(url):
    return requests.get(url).text
