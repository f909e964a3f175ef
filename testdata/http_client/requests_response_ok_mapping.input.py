import requests


async def check(url, expected):
    r = requests.get(url)
    if r.ok and expected:
        return "up"
    while not r.ok:
        break
    flag = r.ok
    same = r.ok == expected
    return [r.ok, flag, same, requests.get(url).ok]
