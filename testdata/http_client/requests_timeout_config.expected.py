import httpx2


async def fetch(url):
    async with httpx2.AsyncClient(timeout=10.0) as client:
        return (await client.get(url)).json()


async def peek(url):
    async with httpx2.AsyncClient(timeout=10.0) as client:
        return (await client.head(url)).headers
