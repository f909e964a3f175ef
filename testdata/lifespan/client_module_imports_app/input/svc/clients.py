import httpx

from svc import main

http = httpx.AsyncClient()


def timeout() -> int:
    return main.TIMEOUT
