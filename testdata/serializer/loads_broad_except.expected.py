"""orjson rejects some input json.loads accepts (NaN, Infinity, a BOM); under a broad
`except` that would be swallowed silently, so those calls are reported instead."""
import json

import orjson


async def settings(request):
    body = await request.body()
    try:
        return json.loads(body)
    except Exception:
        return {}


async def bare(request):
    try:
        return json.loads(await request.body())
    except:  # noqa: E722
        return None


async def tuple_of_errors(request):
    try:
        return json.loads(await request.body())
    except (KeyError, BaseException):
        return None


async def invalid_input_is_an_error(request):
    try:
        return orjson.loads(await request.body())
    except json.JSONDecodeError:  # orjson's error is a subclass: still a 400
        raise ValueError("bad request") from None


async def handler_not_around_it(request):
    data = orjson.loads(await request.body())
    try:
        return data["x"]
    except Exception:
        return None
