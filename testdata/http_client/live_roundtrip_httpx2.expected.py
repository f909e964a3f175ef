"""Run against a local server by tests/test_http_client_live.py, before and after."""

import httpx2


async def get_json(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(f"{base}/json", params={"x": "1"})
    r.raise_for_status()
    return r.status_code, r.json()


async def post_json(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.post(f"{base}/echo", json={"a": [1, 2]})).json()


async def post_form(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.post(f"{base}/echo", data={"name": "a b"})).json()


async def follows_redirect(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(f"{base}/redirect")
    return r.status_code, r.json()


async def head_does_not_follow(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (
            await client.head(f"{base}/redirect", follow_redirects=False)
        ).status_code


async def redirect_not_followed(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (
            await client.get(f"{base}/redirect", follow_redirects=False)
        ).status_code


async def not_found(base):
    try:
        async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
            r = await client.get(f"{base}/missing")
        r.raise_for_status()
    except httpx2.HTTPStatusError:
        return "http error"
    return "no error"


async def ok_flag(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(f"{base}/missing")
    return not r.is_error, r.is_error, r.status_code


async def text_and_content(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        r = await client.get(f"{base}/text")
    return r.text, r.content, r.headers["content-type"]


async def session_calls(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as s:
        first = (await s.get(f"{base}/json", params={"n": "1"})).json()
        second = (await s.post(f"{base}/echo", json=[1, 2])).json()
    return first, second


async def connection_refused(dead_url):
    try:
        async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
            await client.get(dead_url)
    except (httpx2.ConnectError, httpx2.ConnectTimeout):
        return "connection error"
    return "connected"


async def timed_out(base):
    try:
        async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
            await client.get(f"{base}/slow", timeout=0.2)
    except httpx2.TimeoutException:
        return "timeout"
    return "in time"


async def waited(base):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(f"{base}/wait")).text
