import requests


async def exists(url):
    return requests.head(url).status_code == 200


async def exists_following(url):
    return requests.head(url, allow_redirects=True).status_code


async def no_follow(url):
    return requests.get(url, allow_redirects=False).headers.get("location")


async def generic(url):
    return requests.request("HEAD", url).status_code
