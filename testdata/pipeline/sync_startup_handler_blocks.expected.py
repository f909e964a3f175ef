import asyncio
import time
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    boot()
    yield


app = FastAPI(lifespan=lifespan)


def warm_up():
    requests.get("https://upstream.example/health")


def boot():
    time.sleep(1)
    warm_up()


@app.get("/")
async def index():
    await asyncio.to_thread(warm_up)
    return {}
