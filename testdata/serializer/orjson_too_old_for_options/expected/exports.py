"""orjson 2.4 has OPT_SORT_KEYS (2.3) but neither OPT_NON_STR_KEYS (2.5) nor OPT_INDENT_2
(2.6): only the call that needs no option newer than the declared range is rewritten."""
import json

import orjson
from starlette.responses import Response


async def sorted_rows(rows):
    return Response(
        orjson.dumps({"rows": "all"}, option=orjson.OPT_SORT_KEYS),
        media_type="application/json",
    )


async def any_keys(rows):
    return Response(json.dumps(rows), media_type="application/json")


async def pretty(rows):
    return Response(json.dumps({"rows": "all"}, indent=2), media_type="application/json")
