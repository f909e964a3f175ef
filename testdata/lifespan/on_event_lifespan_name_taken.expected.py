from contextlib import asynccontextmanager

from fastapi import FastAPI

lifespan = 3600  # seconds a token lives


@asynccontextmanager
async def app_lifespan(app: FastAPI):
    await load_keys()
    yield


app = FastAPI(
    title="tokens",
    version="1.0",
    lifespan=app_lifespan,
)


async def load_keys():
    ...
