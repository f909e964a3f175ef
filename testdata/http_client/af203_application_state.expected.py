import asyncio
import threading
import time

from fastapi import FastAPI, Request

app = FastAPI()
app.state.issued = 0
_lock = threading.Lock()
_alock = asyncio.Lock()


@app.post("/ticket")
async def ticket(request: Request):
    # The app a request belongs to is shared by every request: a new await between the
    # read and the write would hand two requests the same number.
    number = request.app.state.issued + 1
    time.sleep(0.01)
    request.app.state.issued = number
    return {"ticket": number}


@app.get("/held")
async def held():
    # A thread lock taken by acquire(): another request blocking on it would block the
    # loop's thread while this one waits to resume and release it.
    _lock.acquire()
    try:
        time.sleep(0.05)
    finally:
        _lock.release()
    return {}


@app.get("/awaited")
async def awaited(request: Request):
    # An asyncio lock and state only read: fixed.
    await _alock.acquire()
    try:
        await asyncio.sleep(0.05)
    finally:
        _alock.release()
    return {"issued": request.app.state.issued}
