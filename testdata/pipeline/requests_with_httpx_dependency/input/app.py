import requests


async def handler(url):
    r = requests.get(url)
    return r.status_code
