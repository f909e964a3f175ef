import requests


async def ssl(url):
    try:
        return requests.get(url).status_code
    except requests.exceptions.SSLError:
        return None


async def decoding(url):
    try:
        return requests.get(url).json()
    except requests.RequestException:
        return None


async def response_of_broad_error(url):
    try:
        requests.get(url).raise_for_status()
    except requests.RequestException as exc:
        return exc.response
