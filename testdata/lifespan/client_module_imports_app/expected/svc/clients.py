import httpx

from svc import main

_http: "httpx.AsyncClient | None" = None


def get_http() -> httpx.AsyncClient:
    """The shared client, created on first use: inside the running event loop."""
    global _http
    if _http is None:
        _http = httpx.AsyncClient()
    return _http


async def close_http() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global _http
    instance, _http = _http, None
    if instance is not None:
        await instance.aclose()


def timeout() -> int:
    return main.TIMEOUT
