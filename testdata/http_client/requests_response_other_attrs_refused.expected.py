import requests


async def download(url, out):
    r = requests.get(url)
    for chunk in r.iter_content(8192):
        out.write(chunk)


async def where(url):
    r = requests.get(url)
    return r.url, r.reason


async def not_called(url):
    return requests.get(url).json
