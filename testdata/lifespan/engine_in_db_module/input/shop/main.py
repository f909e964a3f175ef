from fastapi import FastAPI

from .db import SessionLocal, engine as db_engine

app = FastAPI(title="shop")


@app.get("/count")
async def count():
    async with SessionLocal() as session:
        return await session.scalar(...)
