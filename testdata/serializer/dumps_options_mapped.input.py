import json

from starlette.responses import Response


async def sorted_and_indented(data):
    return Response(json.dumps(data, sort_keys=True, indent=2), media_type="application/json")


async def compact_utf8(data):
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, check_circular=True)
    return Response(body, media_type="application/json")


async def literal_str_keys(user, count):
    # Every dict in the payload is a literal with str keys: no OPT_NON_STR_KEYS.
    body = json.dumps({"user": {"name": "x", "tags": ["a", "b"]}, "count": 3, "ok": True})
    return Response(body, media_type="application/json")


async def keyword_payload(data):
    return Response(json.dumps(obj=data, indent=None, default=None), media_type="application/json")


async def multi_line(data):
    return Response(
        json.dumps(
            data,
            sort_keys=True,
        ),
        media_type="application/json",
    )


async def defaults_spelled_out(data):
    body = json.dumps(data, skipkeys=False, cls=None, separators=(", ", ": "), sort_keys=False)
    return Response(body, media_type="application/json")
