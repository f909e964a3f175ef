from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import engine, reporting_engine

SessionLocal = async_sessionmaker(engine)
ReportingSession = async_sessionmaker(reporting_engine)


async def get_db():
    async with SessionLocal() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


async def handles_its_errors():
    db = SessionLocal()
    try:
        await db.execute(QUERY)
    except TimeoutError:
        await db.rollback()
    finally:
        await db.close()


async def used_after_close():
    db = SessionLocal()
    try:
        await db.execute(QUERY)
    finally:
        await db.close()
    return db.info


async def other_factory():
    db = ReportingSession()
    try:
        await db.execute(QUERY)
    finally:
        await db.close()


async def never_closed():
    db = SessionLocal()
    await db.execute(QUERY)
    await db.commit()


def sync_def_with_async_session():
    db = SessionLocal()
    try:
        db.info.clear()
    finally:
        db.close()
