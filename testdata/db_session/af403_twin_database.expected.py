"""AF403 against a real database: tests/test_db_session_database.py runs the output."""

import os
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ.get("DB_SESSION_TEST_URL", "sqlite+aiosqlite://"))
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


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


async def record(name, fail=False):
    """A job outside any request: it writes one row, then maybe fails."""
    async with get_db_session() as db:
        await db.execute(text("INSERT INTO items (name) VALUES (:name)"), {"name": name})
        if fail:
            raise RuntimeError("the job failed after writing")
