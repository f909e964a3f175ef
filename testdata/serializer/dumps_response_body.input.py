"""Exports built by hand as JSON response bodies."""
import json

from starlette.responses import Response


async def export_rows(rows):
    # The body is only ever sent as JSON: orjson's bytes go straight in.
    return Response(content=json.dumps({"rows": rows}), media_type="application/json")


async def export_problem(problem):
    payload = json.dumps(problem)
    return Response(payload, status_code=422, media_type="application/problem+json")
