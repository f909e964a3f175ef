import asyncio
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI


def init_db():
    time.sleep(1)


async def on_start():
    # Startup code: AF301 moves the call into a lifespan, and no pass offloads init_db.
    init_db()


async def warm():
    return None


@asynccontextmanager
async def lifespan(app: FastAPI):
    await on_start()
    await warm()
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def index():
    await asyncio.to_thread(init_db)
    return {}
