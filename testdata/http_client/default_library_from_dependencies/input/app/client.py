import requests


async def fetch(url):
    r = requests.get(url)
    return r.status_code, r.json()
