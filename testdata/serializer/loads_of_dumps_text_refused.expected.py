"""A cache round trip: json.dumps writes NaN and Infinity, which orjson.loads rejects."""
import json

import orjson


async def round_trip(result, cache):
    serialized = json.dumps(result)
    await cache.set("key", serialized)
    return json.loads(serialized)


async def direct(result):
    return json.loads(json.dumps(result))


async def from_elsewhere(cache):
    return orjson.loads(await cache.get("key"))
