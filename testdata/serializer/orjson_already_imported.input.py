import json

import orjson
from starlette.responses import Response


async def handler(data):
    fast = orjson.dumps(data)
    slow = Response(json.dumps(data), media_type="application/json")
    return fast, slow
