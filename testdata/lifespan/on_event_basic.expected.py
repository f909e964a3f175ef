"""Shop API."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .db import database

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    await connect()
    announce()
    try:
        yield
    finally:
        await disconnect()


app = FastAPI(title="shop", lifespan=lifespan)


async def connect() -> None:
    # open the pool before the first request
    await database.connect()


def announce() -> None:
    log.info("ready")


async def disconnect() -> None:
    await database.disconnect()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
