import logging

import requests
from requests.exceptions import HTTPError, Timeout

log = logging.getLogger(__name__)


async def fetch(url):
    try:
        r = requests.get(url, timeout=5)
        r.raise_for_status()
    except Timeout:
        log.warning("slow upstream")
        return None
    except HTTPError as exc:
        return exc.response.status_code
    except (requests.ConnectionError, OSError):
        return None
    return r.content


async def later_check(url):
    r = requests.get(url)
    try:
        r.raise_for_status()
    except requests.exceptions.HTTPError:
        return False
    return True


async def broad(url):
    try:
        return requests.get(url).status_code
    except requests.RequestException:
        return 0
