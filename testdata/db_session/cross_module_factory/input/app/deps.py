"""The factories live in app/database.py; asyncfix reads it (never imports it)."""

from app.database import AsyncSessionLocal, Reassigned, make_session

from .database import SessionLocal


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def get_async_db():
    db = AsyncSessionLocal()
    try:
        yield db
    finally:
        await db.close()


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
