import json

from starlette.responses import Response


class Encoder(json.JSONEncoder):
    pass


async def refused(data, options, stable):
    # Each of these keeps json.dumps: orjson would not behave exactly the same.
    a = Response(json.dumps(data, default=str), media_type="application/json")
    b = Response(json.dumps(data, cls=Encoder), media_type="application/json")
    c = Response(json.dumps(data, indent=4), media_type="application/json")
    d = Response(json.dumps(data, allow_nan=False), media_type="application/json")
    e = Response(json.dumps(data, skipkeys=True), media_type="application/json")
    f = Response(json.dumps(data, **options), media_type="application/json")
    g = Response(json.dumps(data, sort_keys=stable), media_type="application/json")
    h = Response(json.dumps(data, separators=(";", "=")), media_type="application/json")
    i = Response(json.dumps(data, indent="  "), media_type="application/json")
    return a, b, c, d, e, f, g, h, i


async def commented(data):
    body = json.dumps(
        data,
        ensure_ascii=False,  # clients want UTF-8
        check_circular=False,  # the payload is a tree
    )
    return Response(body, media_type="application/json")
