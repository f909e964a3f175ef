"""FastAPI 0.88 ignores lifespan= (it lands in app.extra): moving these handlers into a
lifespan would mean the startup code never runs."""
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def connect():
    await db.connect()


@app.on_event("shutdown")
async def disconnect():
    await db.disconnect()
