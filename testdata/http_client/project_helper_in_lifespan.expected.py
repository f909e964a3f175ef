import asyncio
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI


def init_db():
    time.sleep(1)


@asynccontextmanager
async def lifespan(app: FastAPI):
    init_db()  # startup blocks serving anyway: no thread
    yield
    init_db()


async def on_start():
    init_db()


app = FastAPI(lifespan=lifespan)
other = FastAPI(on_startup=[on_start])


@app.get("/")
async def index():
    await asyncio.to_thread(init_db)
    return {}


@other.on_event("shutdown")
async def stop():
    init_db()
