"""A new await between a read of shared state and its write lets concurrent calls
interleave there; where the original had none, the call is reported, not rewritten."""
import asyncio
import time

import httpx2
import requests

TOKENS = {}


class RateLimiter:
    async def take(self):
        left = self.tokens
        time.sleep(0.01)
        self.tokens = left - 1

    async def wait_only(self):
        self.tokens -= 1
        await asyncio.sleep(0.01)


async def refresh(user):
    if user in TOKENS:
        return TOKENS[user]
    response = requests.post("https://auth.example.com/token", json={"user": user})
    TOKENS[user] = response.json()["token"]
    return TOKENS[user]


async def fetch(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        response = await client.get(url)
    return response.json()


calls = 0


async def counted():
    global calls
    seen = calls
    time.sleep(0.01)
    calls = seen + 1
