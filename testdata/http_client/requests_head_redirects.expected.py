import httpx2


async def exists(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.head(url, follow_redirects=False)).status_code == 200


async def exists_following(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.head(url, follow_redirects=True)).status_code


async def no_follow(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(url, follow_redirects=False)).headers.get("location")


async def generic(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.request("HEAD", url)).status_code
