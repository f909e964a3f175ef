import httpx2


async def check(url, expected):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(url)
    if not r.is_error and expected:
        return "up"
    while r.is_error:
        break
    flag = not r.is_error
    same = (not r.is_error) == expected
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return [not r.is_error, flag, same, not (await client.get(url)).is_error]
