"""Exports: only the statements asyncfix rewrites are laid out by the project's formatter."""

import orjson
from starlette.requests import Request
from starlette.responses import Response

ALLOWED = {'csv', 'json'}


async def export(rows, export_format):
    return Response(
        orjson.dumps({'rows': rows, 'format': export_format}, option=orjson.OPT_NON_STR_KEYS),
        media_type='application/json',
    )


async def sorted_export(rows):
    body = orjson.dumps({'rows': rows}, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS)
    return Response(body, media_type='application/json')


async def create(request: Request):
    return orjson.loads(await request.body())
