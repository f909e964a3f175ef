"""Shop API."""

import logging

from fastapi import FastAPI

from .db import database

log = logging.getLogger(__name__)

app = FastAPI(title="shop")


@app.on_event("startup")
async def connect() -> None:
    # open the pool before the first request
    await database.connect()


@app.on_event("startup")
def announce() -> None:
    log.info("ready")


@app.on_event("shutdown")
async def disconnect() -> None:
    await database.disconnect()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
