import requests


class Store:
    async def load(self, url):
        self.last = requests.get(url)


async def returned(url):
    r = requests.get(url)
    return r


async def given(url, log):
    r = requests.get(url)
    log(r)
    return r.status_code


async def direct(url, log):
    log(requests.get(url))


async def in_with(url):
    with requests.get(url) as r:
        return r.text


async def reused(url, other):
    r = requests.get(url)
    if other:
        r = other
    return r.status_code
