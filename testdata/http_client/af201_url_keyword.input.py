import requests


async def fetch(u):
    return requests.get(url=u, timeout=5).json()


async def probe(u):
    return requests.head(url=u).status_code


async def send(u, body):
    return requests.request("POST", url=u, json=body).status_code
