"""Run against a local server by tests/test_http_client_live.py, before and after."""

import requests


async def get_json(base):
    r = requests.get(f"{base}/json", params={"x": "1"})
    r.raise_for_status()
    return r.status_code, r.json()


async def post_json(base):
    return requests.post(f"{base}/echo", json={"a": [1, 2]}).json()


async def post_form(base):
    return requests.post(f"{base}/echo", {"name": "a b"}).json()


async def follows_redirect(base):
    r = requests.get(f"{base}/redirect")
    return r.status_code, r.json()


async def head_does_not_follow(base):
    return requests.head(f"{base}/redirect").status_code


async def redirect_not_followed(base):
    return requests.get(f"{base}/redirect", allow_redirects=False).status_code


async def not_found(base):
    try:
        r = requests.get(f"{base}/missing")
        r.raise_for_status()
    except requests.HTTPError:
        return "http error"
    return "no error"


async def ok_flag(base):
    r = requests.get(f"{base}/missing")
    return r.ok, not r.ok, r.status_code


async def text_and_content(base):
    r = requests.get(f"{base}/text")
    return r.text, r.content, r.headers["content-type"]


async def session_calls(base):
    with requests.Session() as s:
        first = s.get(f"{base}/json", params={"n": "1"}).json()
        second = s.post(f"{base}/echo", json=[1, 2]).json()
    return first, second


async def connection_refused(dead_url):
    try:
        requests.get(dead_url)
    except requests.ConnectionError:
        return "connection error"
    return "connected"


async def timed_out(base):
    try:
        requests.get(f"{base}/slow", timeout=0.2)
    except requests.Timeout:
        return "timeout"
    return "in time"


async def waited(base):
    return requests.get(f"{base}/wait").text
