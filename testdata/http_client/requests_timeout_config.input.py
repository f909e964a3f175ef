import requests


async def fetch(url):
    return requests.get(url).json()


async def peek(url):
    return requests.head(url).headers
