import requests

API = "https://api.example.com"


async def fetch_user(user_id: int) -> dict:
    # the upstream is slow; this used to stall every request
    r = requests.get(f"{API}/users/{user_id}", params={"expand": "teams"}, timeout=10)  # keep
    r.raise_for_status()
    return r.json()


async def status() -> int:
    return requests.get(API).status_code
