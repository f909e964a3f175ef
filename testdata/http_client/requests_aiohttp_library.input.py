import requests


async def fetch(url, token):
    try:
        r = requests.get(url, params={"q": "x"}, auth=("api", token), timeout=3)
        r.raise_for_status()
    except requests.HTTPError:
        return None
    return r.ok, r.status_code, r.headers["content-type"], r.json(), r.text, r.content


async def direct(url):
    return requests.get(url).json()["items"]


async def post_form(url):
    return requests.post(url, data={"a": "1"}).status_code
