import json

from aiohttp import web


async def as_text(request):
    data = await request.app["store"].load()
    # text= takes a str: orjson's bytes are decoded.
    return web.Response(text=json.dumps(data), content_type="application/json")


async def as_body(request):
    data = await request.app["store"].load()
    # body= takes bytes: `.encode()` goes, orjson's bytes take its place.
    return web.Response(body=json.dumps(data).encode(), content_type="application/json")


async def shared(request):
    data = await request.app["store"].load()
    body = json.dumps(data)
    if request.query.get("raw"):
        return web.Response(text=body, content_type="application/json")
    return web.Response(text=body, content_type="application/json", status=200)


async def no_content_type(request):
    data = await request.app["store"].load()
    return web.Response(text=json.dumps(data))
