"""Shop API."""

import logging

from fastapi import FastAPI

from .db import database
from contextlib import asynccontextmanager

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
