import requests


async def both(url):
    try:
        first = requests.get(url).status_code
        second = requests.get(url, verify=False).status_code
    except requests.Timeout:
        return None
    return first + second
