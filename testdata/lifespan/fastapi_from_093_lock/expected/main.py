"""The lock file pins a FastAPI with lifespan=, though the declared range admits older."""
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    await connect()
    try:
        yield
    finally:
        await disconnect()


app = FastAPI(lifespan=lifespan)


async def connect():
    await db.connect()


async def disconnect():
    await db.disconnect()
