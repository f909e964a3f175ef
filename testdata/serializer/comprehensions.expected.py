import json

import orjson
from starlette.responses import Response


async def many(bodies, items):
    parsed = [json.loads(b) for b in bodies]
    by_id = {p["id"]: json.loads(p["raw"]) for p in parsed}
    ids = {json.loads(b)["id"] for b in bodies}
    # No await is added, so a generator expression is fine for loads...
    first = next(json.loads(b) for b in bodies)
    # ...but these json.dumps results are text handed on, not response bodies.
    lines = [json.dumps(i) for i in items]
    responses = [
        Response(
            orjson.dumps(i, option=orjson.OPT_NON_STR_KEYS),
            media_type="application/json",
        )
        for i in items
    ]
    return parsed, by_id, ids, first, lines, responses
