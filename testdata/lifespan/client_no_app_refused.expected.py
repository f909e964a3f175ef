"""Shared clients; the app lives elsewhere."""

import aiohttp
import httpx

_session: "aiohttp.ClientSession | None" = None


def get_session() -> aiohttp.ClientSession:
    """The shared client, created on first use: inside the running event loop."""
    global _session
    if _session is None:
        _session = aiohttp.ClientSession()
    return _session


async def close_session() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global _session
    instance, _session = _session, None
    if instance is not None:
        await instance.close()


_client: "httpx.AsyncClient | None" = None


def get_client() -> httpx.AsyncClient:
    """The shared client, created on first use: inside the running event loop."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient()
    return _client


async def close_client() -> None:
    """Close the shared client at shutdown; a later use creates a new one."""
    global _client
    instance, _client = _client, None
    if instance is not None:
        await instance.aclose()


class Upstream:
    http = httpx.AsyncClient(timeout=2)
