from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import engine

SessionLocal = async_sessionmaker(engine)


async def annotated():
	async with SessionLocal() as session:
		try:
			yield session
			await session.commit()
		except Exception:
			await session.rollback()
			raise


async def suppressed():  # asyncfix: ignore[AF401]
	session = SessionLocal()
	try:
		yield session
	finally:
		await session.close()
