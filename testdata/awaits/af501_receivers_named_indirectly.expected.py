"""Receivers typed through an alias, a string annotation, an await and a loop: the
prescreen must let each through (their class is named only indirectly)."""

from asyncpg import connect as pg_connect
from sqlalchemy.ext.asyncio import AsyncSession as Session

import asyncio as aio

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: "set[aio.Task[object]]" = set()


async def save(db: "Session", item):
    db.add(item)
    await db.commit()


async def count(dsn):
    await (await pg_connect(dsn)).close()


async def spawn(job):
    loop = aio.get_running_loop()
    task = loop.create_task(job())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


async def not_a_use(db: Session):
    db.commit().close()  # the coroutine's own attribute: left alone
    pending = db.flush()
    pending.cr_frame  # noqa: B018 (an attribute of the coroutine: left alone)
