"""Request bodies parsed by hand."""
import json

from starlette.requests import Request


async def create(request: Request):
    payload = json.loads(await request.body())
    try:
        meta = json.loads(s=request.headers["x-meta"])
    except json.JSONDecodeError:  # orjson's error is a subclass: still caught
        meta = {}
    return payload, meta


async def batch(lines):
    return [json.loads(line) for line in lines if line]
