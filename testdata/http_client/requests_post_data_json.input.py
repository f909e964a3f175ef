import requests


async def form(url):
    return requests.post(url, {"name": "x"}).text


async def raw(url, payload):
    return requests.put(url, b"\x00\x01").status_code + requests.patch(url, "text").status_code


async def encoded(url, payload):
    return requests.post(url, data=payload.encode("utf-8"), headers={"X": "1"}).status_code


async def as_json(url, payload):
    return requests.post(url, None, payload).json()


async def unknown(url, payload):
    return requests.post(url, data=payload).status_code
