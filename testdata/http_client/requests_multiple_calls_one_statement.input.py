import requests


async def compare(a, b, client):
    same = requests.get(a).text == requests.get(b).text; print(same)
    return same, client
