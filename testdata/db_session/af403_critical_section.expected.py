from contextlib import asynccontextmanager

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite:///./app.db")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
RUNS = {"purge": 0}


async def get_db():
    async with SessionLocal() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


@asynccontextmanager
async def get_db_session():
    async with SessionLocal() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


async def purge_counted():
    """`async with get_db_session()` would await between the read and the write of RUNS."""
    runs = RUNS["purge"]
    db = SessionLocal()
    try:
        RUNS["purge"] = runs + 1
        await db.execute(delete(Token).where(Token.expired))
    finally:
        await db.close()


async def purge():
    runs = RUNS["purge"]
    RUNS["purge"] = runs + 1
    async with get_db_session() as db:
        await db.execute(delete(Token).where(Token.expired))
