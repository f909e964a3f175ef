"""Database: SQLAlchemy's asyncio extension."""

import os

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./app.db")

# Module-level engine.
engine = create_async_engine(DATABASE_URL)


# The leaky dependency: a session factory built on every call, and a session that is only
# closed (no rollback on error, no transactional scope).
async def get_db():
    async_session = async_sessionmaker(engine, autoflush=False)  # no autoflush here
    session: AsyncSession = async_session()
    try:
        yield session
    finally:
        await session.close()
