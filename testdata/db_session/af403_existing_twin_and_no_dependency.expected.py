from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import engine

SessionLocal = async_sessionmaker(engine)


@asynccontextmanager
async def get_db_session():
    async with SessionLocal() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


async def nightly_job():
    async with get_db_session() as session:
        await session.execute(QUERY)
