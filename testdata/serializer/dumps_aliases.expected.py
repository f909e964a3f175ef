import json as j

import orjson
from fastapi import Response


async def aliased_module(data):
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


async def from_import(data):
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


async def local_import(data):

    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )
