"""Text this module writes with json.dump()/json.dumps() may hold NaN and Infinity, which
orjson.loads() rejects: reading it back stays on json.loads()."""
import json
from pathlib import Path

import orjson

STORE = Path("store.json")


class TokenCache:
    def __init__(self, redis):
        self.redis = redis

    async def put(self, key, value):
        await self.redis.set(key, json.dumps(value))

    async def get(self, key):
        raw = await self.redis.get(key)
        return json.loads(raw) if raw else None


def save(data):
    with STORE.open("w") as f:
        json.dump(data, f)


async def load():
    try:
        return json.loads(STORE.read_text())
    except Exception:
        return {}


async def handle(request):
    # A request body comes from the client, not from this module's writers.
    return orjson.loads(await request.body())
