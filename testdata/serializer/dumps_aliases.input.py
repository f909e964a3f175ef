import json as j
from json import dumps

from fastapi import Response


async def aliased_module(data):
    return Response(j.dumps(data), media_type="application/json")


async def from_import(data):
    return Response(dumps(data), media_type="application/json")


async def local_import(data):
    import json

    return Response(json.dumps(data), media_type="application/json")
