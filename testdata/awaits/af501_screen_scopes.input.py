"""Receivers and results the screen sees only as "maybe": each is typed, or used only as
the result, through a binding it does not model exactly (see `_Screen`)."""

import asyncpg
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Maker = async_sessionmaker()


async def get_db() -> AsyncSession:
    return Maker()


async def fetch_user():
    return {"name": "a"}


async def closure(db: AsyncSession):
    async def inner():
        db.commit()  # bound in the enclosing def

    return inner


async def keyword_dependency(db=Depends(dependency=get_db)):
    db.commit()


async def annotated_local():
    db: AsyncSession = Maker()
    db.flush()


async def factory_call():
    db = Maker()
    db.commit()


async def entered_factory():
    async with Maker() as db:
        db.rollback()


async def renamed(db: AsyncSession):
    session = db
    session.commit()


async def awaited_receiver(dsn):
    conn = await asyncpg.connect(dsn)
    conn.close()


async def result_used_in_a_comprehension():
    user = fetch_user()
    return [user[key] for key in ("a", "b")]


async def matched(db: AsyncSession, command):
    match command:
        case "save":
            db.commit()
        case _:
            pass


class Repository:
    if True:

        async def load(self):
            return None

        async def save(self):
            self.load()
