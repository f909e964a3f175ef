import json

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .observability import instrument
from .routers import router

app = FastAPI()
api = FastAPI()
api = instrument(api)


@router.get("/imported")
async def on_imported_router(data):
    # `router` comes from another module: not known to be FastAPI's, so AF101.
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


@app.exception_handler(ValueError)
async def value_error(request: Request, exc: ValueError):
    return JSONResponse({"detail": str(exc)}, status_code=400)


@api.get("/wrapped")
async def on_rebound_app(data):
    # `api` is bound twice, once to something else: not known to be FastAPI's.
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


async def helper(data):
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


@app.websocket("/ws")
async def ws(websocket, data):
    await websocket.send_bytes(json.dumps(data).encode())
