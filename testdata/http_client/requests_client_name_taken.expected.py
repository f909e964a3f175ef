import httpx2


async def fetch(url, client):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as http_client:
        data = (await http_client.get(url)).text
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as http_client:
        more = (await http_client.get(url)).text
    return client, data, more
