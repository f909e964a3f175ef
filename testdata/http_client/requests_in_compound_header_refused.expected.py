import requests


async def up(url):
    if requests.get(url).ok:
        return True
    for item in requests.get(url).json():
        print(item)
    return False


async def one_liner(url): return requests.get(url).text
