import json

import orjson
from starlette.responses import Response


async def handler(data):
    a = Response(json.dumps(data), media_type="application/json")  # asyncfix: ignore
    b = Response(json.dumps(data), media_type="application/json")  # asyncfix: ignore[AF101]
    c = Response(json.dumps(data), media_type="application/json")  # asyncfix: ignore[serializer]
    d = Response(  # asyncfix: ignore[AF1]
        json.dumps(data),
        media_type="application/json",
    )
    e = Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), media_type="application/json"
    )  # asyncfix: ignore[AF203]
    return a, b, c, d, e
