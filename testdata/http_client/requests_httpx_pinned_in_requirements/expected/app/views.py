"""The project already has httpx: requests moves to httpx's AsyncClient, not httpx2."""

import httpx


async def get_user(uid):
    async with httpx.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(f"https://api.example/users/{uid}", timeout=5)).json()
