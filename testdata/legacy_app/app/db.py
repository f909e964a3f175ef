"""Database: SQLAlchemy's asyncio extension; SQLite (aiosqlite) unless told otherwise."""

import os

from sqlalchemy import Integer, String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# PostgreSQL works too: postgresql+asyncpg://user:password@127.0.0.1/orders
DATABASE_URL = os.environ.get("LEGACY_APP_DATABASE_URL", "sqlite+aiosqlite:///./legacy_app.db")

# Module-level engine, never disposed.
engine = create_async_engine(DATABASE_URL)


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)


# The leaky dependency: a session factory built on every call, and a session that is only
# closed (no rollback on error, no transactional scope).
async def get_db():
    async_session = async_sessionmaker(engine, expire_on_commit=False)
    session: AsyncSession = async_session()
    try:
        yield session
    finally:
        await session.close()
