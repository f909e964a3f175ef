import time

from fastapi import FastAPI


def init_db():
    time.sleep(1)


async def on_start():
    # Startup code: AF301 moves the call into a lifespan, and no pass offloads init_db.
    init_db()


async def warm():
    return None


app = FastAPI(on_startup=[on_start, warm])


@app.get("/")
async def index():
    init_db()
    return {}
