"""commit-on-exit = false: the scope rolls back on error but never commits by itself.

tests/test_db_session_database.py runs the rewritten dependency against a real database.
"""

import os

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ.get("DB_SESSION_TEST_URL", "sqlite+aiosqlite://"))
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        await db.close()
