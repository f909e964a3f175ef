import orjson
from starlette.responses import Response


async def handler(data):
    fast = orjson.dumps(data)
    slow = Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )
    return fast, slow
