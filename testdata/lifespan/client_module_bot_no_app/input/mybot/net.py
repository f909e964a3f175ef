"""The bot's HTTP clients."""

import aiohttp
import httpx2

session = aiohttp.ClientSession()
api = httpx2.AsyncClient(base_url="https://api.example")
