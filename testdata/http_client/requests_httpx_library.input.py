import requests


async def fetch(url):
    try:
        r = requests.get(url, params={"q": "x"}, timeout=3)
        r.raise_for_status()
    except requests.Timeout:
        return None
    return r.ok, r.json()
