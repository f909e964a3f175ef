from contextlib import asynccontextmanager

from fastapi import FastAPI

from .db import SessionLocal, engine as db_engine


@asynccontextmanager
async def lifespan(app: FastAPI):
    try:
        yield
    finally:
        await db_engine.dispose()


app = FastAPI(title="shop", lifespan=lifespan)


@app.get("/count")
async def count():
    async with SessionLocal() as session:
        return await session.scalar(...)
