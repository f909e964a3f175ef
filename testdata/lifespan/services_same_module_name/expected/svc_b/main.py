# Run from this directory: uvicorn main:app
from contextlib import asynccontextmanager

from fastapi import FastAPI

from state import EVENTS, connect


@asynccontextmanager
async def lifespan(app: FastAPI):
    await startup()
    try:
        yield
    finally:
        await shutdown()


app = FastAPI(lifespan=lifespan)


async def startup():
    EVENTS.append(await connect("b"))


async def shutdown():
    EVENTS.append("b stopped")


@app.get("/")
async def read():
    return EVENTS
