"""Nothing here runs on the event loop, or nothing here is the json module."""
import json

from starlette.responses import Response

DEFAULTS = json.loads('{"page": 1}')
TEMPLATE = "Response(json.dumps(data), media_type='application/json')"


def sync_endpoint(data):
    return Response(json.dumps(data), media_type="application/json")


class Client:
    json = None

    async def send(self, data):
        # json.dumps(data) in a comment is not code.
        note = "json.dumps(data)"
        self.json.dumps(data)
        return note


async def shadowed(json, data):
    return Response(json.dumps(data), media_type="application/json")


async def rebound(data, codec):
    json = codec
    return Response(json.dumps(data), media_type="application/json")


async def request_json(request):
    return await request.json()
