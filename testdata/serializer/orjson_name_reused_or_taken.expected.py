import json

import orjson as oj
from starlette.responses import Response


async def reuses_alias(data):
    return Response(
        oj.dumps(data, option=oj.OPT_NON_STR_KEYS), media_type="application/json"
    )


async def taken(data, orjson):
    # `orjson` is a parameter here: the module cannot be named.
    return Response(json.dumps(data), media_type="application/json"), orjson
