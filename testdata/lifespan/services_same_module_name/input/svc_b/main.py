# Run from this directory: uvicorn main:app
from fastapi import FastAPI

from state import EVENTS, connect

app = FastAPI()


@app.on_event("startup")
async def startup():
    EVENTS.append(await connect("b"))


@app.on_event("shutdown")
async def shutdown():
    EVENTS.append("b stopped")


@app.get("/")
async def read():
    return EVENTS
