import requests as rq


async def headers(url):
    resp = rq.options(url, headers={"Origin": "https://app.example"})
    return resp.headers["Allow"]


async def remove(url, token):
    rq.delete(url, auth=("api", token)).raise_for_status()
