import sqlalchemy.orm as orm
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import engine


Factory = orm.sessionmaker(
    engine,
    class_=AsyncSession,
    expire_on_commit=False,
)


async def one_per_line():
    async with Factory() as db:
        yield db


Other = async_sessionmaker(
    engine,
    autoflush=False,
    expire_on_commit=False
)


async def no_trailing_comma():
    async with Other() as db:
        yield db


Third = async_sessionmaker(
    engine,
    expire_on_commit=False
)


async def one_argument():
    async with Third() as db:
        yield db


Fourth = async_sessionmaker(engine, expire_on_commit=True)


async def keeps_explicit_expire():
    async with Fourth() as db:
        yield db


Fifth = async_sessionmaker(expire_on_commit=False)


async def no_arguments():
    async with Fifth(bind=engine) as db:
        yield db
