"""Receivers typed through an alias, a string annotation, an await and a loop: the
prescreen must let each through (their class is named only indirectly)."""

from asyncpg import connect as pg_connect
from sqlalchemy.ext.asyncio import AsyncSession as Session

import asyncio as aio


async def save(db: "Session", item):
    db.add(item)
    db.commit()


async def count(dsn):
    (await pg_connect(dsn)).close()


async def spawn(job):
    loop = aio.get_running_loop()
    loop.create_task(job())


async def not_a_use(db: Session):
    db.commit().close()  # the coroutine's own attribute: left alone
    pending = db.flush()
    pending.cr_frame  # noqa: B018 (an attribute of the coroutine: left alone)
