"""Exports: only the statements asyncfix rewrites are laid out by the project's formatter."""

import json

from starlette.requests import Request
from starlette.responses import Response

ALLOWED = {"csv", "json"}


async def export(rows, export_format):
    return Response(json.dumps({"rows": rows, "format": export_format}), media_type="application/json")


async def sorted_export(rows):
    body = json.dumps({"rows": rows}, sort_keys=True)
    return Response(body, media_type="application/json")


async def create(request: Request):
    return json.loads(await request.body())
