import logging

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import engine

SessionLocal = async_sessionmaker(engine)
log = logging.getLogger(__name__)


async def logs_first():
    log.debug("opening a session")
    db = SessionLocal()
    try:
        yield db
    finally:
        await db.close()


async def used_after_yield():
    db = SessionLocal()
    try:
        yield db
        await db.flush()
    finally:
        await db.close()


async def yield_in_a_block(flag):
    db = SessionLocal()
    try:
        if flag:
            yield db
    finally:
        await db.close()


async def close_not_awaited():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def finally_does_more():
    db = SessionLocal()
    try:
        yield db
    finally:
        await db.close()
        log.debug("closed")


async def already_handles_errors():
    db = SessionLocal()
    try:
        yield db
    except ValueError:
        log.exception("bad value")
        raise
    finally:
        await db.close()


async def more_after_close():
    db = SessionLocal()
    try:
        yield db
    finally:
        await db.close()
    log.debug("done")


async def yields_twice():
    async with SessionLocal() as db:
        yield db
        yield db


async def with_manages_more(lock):
    async with lock, SessionLocal() as db:
        yield db


def async_session_in_sync_def():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def comment_would_be_lost():
    db = SessionLocal()
    try:
        yield db
    finally:
        # always give the connection back
        await db.close()
