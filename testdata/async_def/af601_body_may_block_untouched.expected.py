import json
import time

import requests


async def _wait():
    time.sleep(1)


async def _download(url):
    return requests.get(url).json()


async def _encode(data):
    return json.dumps(data)


async def _query(db):
    return db.query("x").all()


async def main(db):
    await _wait()
    await _download("u")
    await _encode({})
    await _query(db)
