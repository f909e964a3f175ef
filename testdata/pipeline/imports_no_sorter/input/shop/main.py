"""The shop's API: corelib is the company's shared package, first-party by configuration."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager

from corelib.settings import PAUSE
from fastapi import (APIRouter, BackgroundTasks, Body, Cookie, Depends,
                     FastAPI, Header, Query, Response)

from shop.db import database

log = logging.getLogger(__name__)
app = FastAPI()
router = APIRouter()


@contextmanager
def timer():
    start = time.monotonic()
    yield
    log.info("took %s", time.monotonic() - start)


@app.on_event("startup")
async def connect():
    await database.connect()


@app.on_event("shutdown")
async def disconnect():
    await database.disconnect()


@router.get("/slow")
async def slow(tasks: BackgroundTasks, q: str = Query(...), token: str = Header(""), c: str = Cookie("")):
    time.sleep(PAUSE)
    return Response(json.dumps({"q": q}), media_type="application/json")


@router.post("/echo", dependencies=[Depends(timer)])
async def echo(body: dict = Body(...)):
    return body
