import json
from json import dumps, loads

from starlette.responses import Response


def to_log(data):
    return json.dumps(data)


async def handler(request, data):
    body = loads(await request.body())
    return Response(json.dumps(body), media_type="application/json"), dumps(data)
