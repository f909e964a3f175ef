import sqlalchemy.orm as orm
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import engine


async def one_per_line():
    Factory = orm.sessionmaker(
        engine,
        class_=AsyncSession,
    )
    async with Factory() as db:
        yield db


async def no_trailing_comma():
    Other = async_sessionmaker(
        engine,
        autoflush=False
    )
    async with Other() as db:
        yield db


async def one_argument():
    Third = async_sessionmaker(
        engine
    )
    async with Third() as db:
        yield db


async def keeps_explicit_expire():
    Fourth = async_sessionmaker(engine, expire_on_commit=True)
    async with Fourth() as db:
        yield db


async def no_arguments():
    Fifth = async_sessionmaker()
    async with Fifth(bind=engine) as db:
        yield db
