import functools
import json

import orjson
from starlette.responses import Response


def traced(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        return await func(*args, **kwargs)

    return wrapper


class ReportView:
    media_type = "application/json"

    @traced
    async def get(self, request):
        report = await self.load(request)
        return Response(
            orjson.dumps(report, option=orjson.OPT_NON_STR_KEYS),
            media_type="application/json",
        )

    @staticmethod
    async def parse(body):
        return orjson.loads(body)

    @classmethod
    async def empty(cls):
        return Response(orjson.dumps({}), media_type="application/json")

    def sync_render(self, report):
        return Response(json.dumps(report), media_type="application/json")

    async def load(self, request):
        return orjson.loads(await request.body())
