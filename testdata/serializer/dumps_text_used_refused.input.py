import hashlib
import json
import logging

from fastapi.responses import JSONResponse, PlainTextResponse, Response

log = logging.getLogger(__name__)


async def cache_entry(redis, key, data):
    # Stored, compared, hashed, logged, returned: the exact text matters.
    await redis.set(key, json.dumps(data))
    if json.dumps(data) == await redis.get(key):
        log.info("unchanged: %s", json.dumps(data))
    etag = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return etag, f"data={json.dumps(data)}"


async def as_str(data):
    return json.dumps(data)


async def websocket_push(websocket, data):
    await websocket.send_text(json.dumps(data))


async def wrong_or_unknown_media_types(data, media_type):
    a = JSONResponse(json.dumps(data))  # a JSON string holding JSON: the text is the value
    b = PlainTextResponse(json.dumps(data))
    c = Response(json.dumps(data))
    d = Response(json.dumps(data), media_type="text/plain")
    e = Response(json.dumps(data), media_type=media_type)
    return a, b, c, d, e


async def not_only_the_body(data):
    body = json.dumps(data)
    log.debug("sending %s", body)
    return Response(body, media_type="application/json")


async def bound_twice(data, pretty):
    body = json.dumps(data)
    if pretty:
        body = json.dumps(data, indent=2)
    return Response(body, media_type="application/json")
