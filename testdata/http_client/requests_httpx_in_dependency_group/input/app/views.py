"""The project already has httpx: requests moves to httpx's AsyncClient, not httpx2."""

import requests


async def get_user(uid):
    return requests.get(f"https://api.example/users/{uid}", timeout=5).json()
