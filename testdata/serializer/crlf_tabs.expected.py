import orjson
from starlette.responses import Response


async def handler(body):
	data = orjson.loads(body)
	return Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), media_type="application/json")  # tabs, CRLF
