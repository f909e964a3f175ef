import json

import orjson
from aiohttp import web


async def as_text(request):
    data = await request.app["store"].load()
    # text= takes a str: orjson's bytes are decoded.
    return web.Response(
        text=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode(),
        content_type="application/json",
    )


async def as_body(request):
    data = await request.app["store"].load()
    # body= takes bytes: `.encode()` goes, orjson's bytes take its place.
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        content_type="application/json",
    )


async def shared(request):
    data = await request.app["store"].load()
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
    if request.query.get("raw"):
        return web.Response(text=body, content_type="application/json")
    return web.Response(text=body, content_type="application/json", status=200)


async def no_content_type(request):
    data = await request.app["store"].load()
    return web.Response(text=json.dumps(data))
