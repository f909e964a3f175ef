"""A json.dumps whose text only goes to a response body (through a variable) is sent, not
stored: the module's json.loads may move to orjson in the same run as the dumps (found by
fuzzing: the dumps' rewrite used to change the loads' answer on a second run)."""

import orjson
from starlette.requests import Request
from starlette.responses import Response


async def export(rows):
    body = orjson.dumps(
        {"rows": rows}, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
    )
    return Response(body, media_type="application/json")


async def create(request: Request):
    return orjson.loads(await request.body())
