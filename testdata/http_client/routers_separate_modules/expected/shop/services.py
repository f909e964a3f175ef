import httpx2
import requests


def load(order_id: int) -> dict:
    return requests.get(f"https://orders.example/{order_id}").json()


async def refresh(order_id: int) -> dict:
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(f"https://orders.example/{order_id}", params={"fresh": 1})
    r.raise_for_status()
    return r.json()
