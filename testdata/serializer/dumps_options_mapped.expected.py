import orjson
from starlette.responses import Response


async def sorted_and_indented(data):
    return Response(
        orjson.dumps(
            data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
        ),
        media_type="application/json",
    )


async def compact_utf8(data):
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json")


async def literal_str_keys(user, count):
    # Every dict in the payload is a literal with str keys: no OPT_NON_STR_KEYS.
    body = orjson.dumps({"user": {"name": "x", "tags": ["a", "b"]}, "count": 3, "ok": True})
    return Response(body, media_type="application/json")


async def keyword_payload(data):
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), media_type="application/json"
    )


async def multi_line(data):
    return Response(
        orjson.dumps(
            data,
            option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS,
        ),
        media_type="application/json",
    )


async def defaults_spelled_out(data):
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json")
