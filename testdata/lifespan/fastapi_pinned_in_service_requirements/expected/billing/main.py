"""A service on a FastAPI with lifespan= in its own requirements.txt: the other service's pin
does not hold it back."""
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    await startup()
    yield


app = FastAPI(lifespan=lifespan)
READY = []


async def startup():
    READY.append(True)
