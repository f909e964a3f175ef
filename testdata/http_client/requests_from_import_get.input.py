from requests import get, post


async def mirror(url: str, target: str) -> int:
    body = get(url).content
    return post(target, json={"body": body.decode()}).status_code


def sync_still_uses_get(url: str) -> bytes:
    return get(url).content
