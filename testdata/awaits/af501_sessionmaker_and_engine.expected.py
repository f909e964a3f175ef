from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def migrate():
    async with engine.begin() as conn:
        await conn.execute(text("create table t (id int)"))
    async with SessionLocal() as session:
        session.add(object())
        await session.commit()
    await engine.dispose()
