import requests


async def status_of_error(url):
    try:
        requests.get(url).raise_for_status()
    except requests.HTTPError as exc:
        return exc.response.status_code


async def message_only(url):
    try:
        return requests.get(url).status_code
    except requests.HTTPError as exc:
        return str(exc)
