# Run from this directory: uvicorn main:app
from contextlib import asynccontextmanager

from fastapi import FastAPI

from state import EVENTS


@asynccontextmanager
async def lifespan(app: FastAPI):
    startup()
    try:
        yield
    finally:
        shutdown()


app = FastAPI(lifespan=lifespan)


def startup():
    EVENTS.append("a started")


def shutdown():
    EVENTS.append("a stopped")


@app.get("/")
def read():
    return EVENTS
