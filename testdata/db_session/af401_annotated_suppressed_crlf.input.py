from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import engine

SessionLocal = async_sessionmaker(engine)


async def annotated():
	session: AsyncSession = SessionLocal()
	try:
		yield session
	finally:
		await session.close()


async def suppressed():  # asyncfix: ignore[AF401]
	session = SessionLocal()
	try:
		yield session
	finally:
		await session.close()
