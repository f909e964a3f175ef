"""The shop's API: corelib is the company's shared package, first-party by configuration."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager, contextmanager

import orjson
from fastapi import APIRouter, BackgroundTasks, Body, Cookie, Depends, FastAPI, Header, Query, Response

from corelib.settings import PAUSE
from shop.db import database

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    await connect()
    try:
        yield
    finally:
        await disconnect()


app = FastAPI(lifespan=lifespan)
router = APIRouter()


@contextmanager
def timer():
    start = time.monotonic()
    yield
    log.info("took %s", time.monotonic() - start)


async def connect():
    await database.connect()


async def disconnect():
    await database.disconnect()


@router.get("/slow")
async def slow(tasks: BackgroundTasks, q: str = Query(...), token: str = Header(""), c: str = Cookie("")):
    await asyncio.sleep(PAUSE)
    return Response(orjson.dumps({"q": q}, option=orjson.OPT_NON_STR_KEYS), media_type="application/json")


@router.post("/echo", dependencies=[Depends(timer)])
async def echo(body: dict = Body(...)):
    return body
