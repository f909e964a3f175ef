"""Request bodies parsed by hand."""
import json

import orjson
from starlette.requests import Request


async def create(request: Request):
    payload = orjson.loads(await request.body())
    try:
        meta = orjson.loads(request.headers["x-meta"])
    except json.JSONDecodeError:  # orjson's error is a subclass: still caught
        meta = {}
    return payload, meta


async def batch(lines):
    return [orjson.loads(line) for line in lines if line]
