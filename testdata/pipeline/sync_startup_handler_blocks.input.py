import time

import requests
from fastapi import FastAPI

app = FastAPI()


def warm_up():
    requests.get("https://upstream.example/health")


@app.on_event("startup")
def boot():
    time.sleep(1)
    warm_up()


@app.get("/")
async def index():
    warm_up()
    return {}
