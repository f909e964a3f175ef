"""The lock file pins a FastAPI with lifespan=, though the declared range admits older."""
from fastapi import FastAPI
from contextlib import asynccontextmanager


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
