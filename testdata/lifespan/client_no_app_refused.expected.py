"""Shared clients; the app lives elsewhere."""

import aiohttp
import httpx

session = aiohttp.ClientSession()
client = httpx.AsyncClient()


class Upstream:
    http = httpx.AsyncClient(timeout=2)
