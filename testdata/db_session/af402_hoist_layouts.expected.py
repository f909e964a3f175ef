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
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


Other = async_sessionmaker(
    engine,
    autoflush=False,
    expire_on_commit=False
)


async def no_trailing_comma():
    async with Other() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


Third = async_sessionmaker(
    engine,
    expire_on_commit=False
)


async def one_argument():
    async with Third() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


Fourth = async_sessionmaker(engine, expire_on_commit=True)


async def keeps_explicit_expire():
    async with Fourth() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


Fifth = async_sessionmaker(expire_on_commit=False)


async def no_arguments():
    async with Fifth(bind=engine) as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise
