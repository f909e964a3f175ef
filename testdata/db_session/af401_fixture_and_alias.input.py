import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import sessionmaker

from app.config import async_engine

local_session = sessionmaker(bind=async_engine, class_=AsyncSession, expire_on_commit=False)


async def async_get_db() -> AsyncSession:
    async_session = local_session
    async with async_session() as db:
        yield db


@pytest.fixture
async def db():
    # A test fixture: tests rely on nothing being committed; never rewritten.
    session = local_session()
    try:
        yield session
    finally:
        await session.close()


@pytest.fixture()
def cleanup():
    session = local_session()
    try:
        session.info.clear()
    finally:
        session.close()
