"""Shared clients; the app lives elsewhere."""

import aiohttp
import httpx

session = aiohttp.ClientSession(
    connector=aiohttp.TCPConnector(limit=100, limit_per_host=20, ttl_dns_cache=300)
)
client = httpx.AsyncClient(
    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
)


class Upstream:
    http = httpx.AsyncClient(
        timeout=2,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )
