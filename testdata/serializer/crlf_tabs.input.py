import json
from starlette.responses import Response


async def handler(body):
	data = json.loads(body)
	return Response(json.dumps(data), media_type="application/json")  # tabs, CRLF
