import httpx2
import requests


async def form(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.post(url, data={"name": "x"})).text


async def raw(url, payload):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.put(url, content=b"\x00\x01")).status_code + (
            await client.patch(url, content="text")
        ).status_code


async def encoded(url, payload):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (
            await client.post(url, content=payload.encode("utf-8"), headers={"X": "1"})
        ).status_code


async def as_json(url, payload):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.post(url, data=None, json=payload)).json()


async def unknown(url, payload):
    return requests.post(url, data=payload).status_code
