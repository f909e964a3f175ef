# Run from this directory: uvicorn main:app
from fastapi import FastAPI

from state import EVENTS

app = FastAPI()


@app.on_event("startup")
def startup():
    EVENTS.append("a started")


@app.on_event("shutdown")
def shutdown():
    EVENTS.append("a stopped")


@app.get("/")
def read():
    return EVENTS
