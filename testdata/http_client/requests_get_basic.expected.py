import httpx2

API = "https://api.example.com"


async def fetch_user(user_id: int) -> dict:
    # the upstream is slow; this used to stall every request
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(
            f"{API}/users/{user_id}", params={"expand": "teams"}, timeout=10
        )  # keep
    r.raise_for_status()
    return r.json()


async def status() -> int:
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(API)).status_code
