import requests


def fetch(url):
    return requests.get(url).text


async def outer(url):
    def inner():
        return requests.get(url).text

    return inner
