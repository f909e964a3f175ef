import aiohttp
import requests


async def status_of_error(url):
    try:
        requests.get(url).raise_for_status()
    except requests.HTTPError as exc:
        return exc.response.status_code


async def message_only(url):
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout()) as session:
            return (await session.get(url)).status
    except aiohttp.ClientResponseError as exc:
        return str(exc)
