import asyncio
import builtins
from mysql import connector
from time import sleep as nap
from urllib import request


def settle():
    nap(0.1)


async def fetch(url):
    return request.urlopen(url).read()


async def load(path):
    with builtins.open(path) as f:
        return f.read()


async def store():
    return connector.connect(user="app")


async def handler():
    await asyncio.to_thread(settle)
    return await fetch("https://example.com/")
