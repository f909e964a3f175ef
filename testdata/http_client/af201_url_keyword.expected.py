import httpx2


async def fetch(u):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(url=u, timeout=5)).json()


async def probe(u):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.head(url=u, follow_redirects=False)).status_code


async def send(u, body):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.request("POST", url=u, json=body)).status_code
