"""Database: SQLAlchemy's asyncio extension."""

import os

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./app.db")

# Module-level engine.
engine = create_async_engine(DATABASE_URL)


async_session = async_sessionmaker(
    engine, autoflush=False, expire_on_commit=False
)  # no autoflush here


# The leaky dependency: a session factory built on every call, and a session that is only
# closed (no rollback on error, no transactional scope).
async def get_db():
    async with async_session() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise
