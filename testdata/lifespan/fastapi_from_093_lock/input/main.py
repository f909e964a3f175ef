"""The lock file pins a FastAPI with lifespan=, though the declared range admits older."""
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def connect():
    await db.connect()


@app.on_event("shutdown")
async def disconnect():
    await db.disconnect()
