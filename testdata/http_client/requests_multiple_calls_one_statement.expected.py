import httpx2


async def compare(a, b, client):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as http_client:
        same = (await http_client.get(a)).text == (await http_client.get(b)).text
        print(same)
    return same, client
