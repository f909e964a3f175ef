import asyncio

from sqlalchemy.ext.asyncio import AsyncSession


async def _pause():
    # Never awaits as written, but AF203 turns this into `await asyncio.sleep(...)`.
    await asyncio.sleep(0.1)


async def _save(db: AsyncSession, row):
    db.add(row)
    await db.commit()  # AF501 awaits this: _save then awaits too


def _label(row):
    return f"row {row}".upper()


def _tag(row):
    return "tag:" + str(row)
