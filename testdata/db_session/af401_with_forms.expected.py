from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from app.config import async_engine, engine

AsyncSessionLocal = async_sessionmaker(async_engine)
LegacyAsync = sessionmaker(async_engine, class_=AsyncSession)


async def get_session():
    async with AsyncSessionLocal() as session:
        yield session


async def get_legacy_session():
    async with LegacyAsync() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


def get_plain_session():
    with Session(engine) as session:
        yield session


@asynccontextmanager
async def session_scope():
    async with AsyncSession(async_engine) as session:
        yield session


async def sync_session_in_async_generator():
    with Session(engine) as session:
        yield session
