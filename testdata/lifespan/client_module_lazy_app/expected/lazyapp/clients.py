"""The service's HTTP clients, shared by every router."""

import aiohttp
import httpx

# One session for the whole service.
_SESSION: "aiohttp.ClientSession | None" = None


def get_session() -> aiohttp.ClientSession:
    """The shared client, created on first use: inside the running event loop."""
    global _SESSION
    if _SESSION is None:
        _SESSION = aiohttp.ClientSession()
    return _SESSION


async def close_session() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global _SESSION
    instance, _SESSION = _SESSION, None
    if instance is not None:
        await instance.close()


_http: "httpx.AsyncClient | None" = None


def get_http() -> httpx.AsyncClient:
    """The shared client, created on first use: inside the running event loop."""
    global _http
    if _http is None:
        _http = httpx.AsyncClient(timeout=5)
    return _http


async def close_http() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global _http
    instance, _http = _http, None
    if instance is not None:
        await instance.aclose()


async def fetch_status(url: str) -> int:
    async with get_session().get(url) as response:
        return response.status
