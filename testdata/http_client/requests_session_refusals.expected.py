import requests

session = requests.Session()


async def shared(url):
    return session.get(url).json()


async def kept(url):
    s = requests.Session()
    return s.get(url).json()


async def configured(url):
    with requests.Session() as s:
        s.headers.update({"X": "1"})
        return s.get(url).json()


async def refused_call(url):
    with requests.Session() as s:
        return s.get(url, verify=False).json()
