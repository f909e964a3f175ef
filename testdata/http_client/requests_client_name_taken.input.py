import requests


async def fetch(url, client):
    data = requests.get(url).text
    more = requests.get(url).text
    return client, data, more
