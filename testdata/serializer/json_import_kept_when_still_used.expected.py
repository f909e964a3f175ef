import json
from json import dumps

import orjson
from starlette.responses import Response


def to_log(data):
    return json.dumps(data)


async def handler(request, data):
    body = orjson.loads(await request.body())
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    ), dumps(data)
