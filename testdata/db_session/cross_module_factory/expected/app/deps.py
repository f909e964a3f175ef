"""The factories live in app/database.py; asyncfix reads it (never imports it)."""

from app.database import AsyncSessionLocal, Reassigned, make_session

from .database import SessionLocal


def get_db():
    with SessionLocal() as db:
        try:
            yield db
            db.commit()
        except Exception:
            db.rollback()
            raise


async def get_async_db():
    async with AsyncSessionLocal() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


def get_reassigned():
    db = Reassigned()
    try:
        yield db
    finally:
        db.close()


def get_from_function():
    db = make_session()
    try:
        yield db
    finally:
        db.close()
