"""Exports built by hand as JSON response bodies."""

import orjson
from starlette.responses import Response


async def export_rows(rows):
    # The body is only ever sent as JSON: orjson's bytes go straight in.
    return Response(
        content=orjson.dumps({"rows": rows}, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


async def export_problem(problem):
    payload = orjson.dumps(problem, option=orjson.OPT_NON_STR_KEYS)
    return Response(payload, status_code=422, media_type="application/problem+json")
