import httpx2


async def headers(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        resp = await client.options(url, headers={"Origin": "https://app.example"})
    return resp.headers["Allow"]


async def remove(url, token):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        (await client.delete(url, auth=("api", token))).raise_for_status()
