"""A json.dumps whose text only goes to a response body (through a variable) is sent, not
stored: the module's json.loads may move to orjson in the same run as the dumps (found by
fuzzing: the dumps' rewrite used to change the loads' answer on a second run)."""
import json

from starlette.requests import Request
from starlette.responses import Response


async def export(rows):
    body = json.dumps({"rows": rows}, sort_keys=True)
    return Response(body, media_type="application/json")


async def create(request: Request):
    return json.loads(await request.body())
