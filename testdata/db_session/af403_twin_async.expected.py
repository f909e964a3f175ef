import asyncio
from contextlib import asynccontextmanager

from fastapi import BackgroundTasks, Depends, FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite:///./app.db")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

app = FastAPI()


async def get_db():
    async with SessionLocal() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


@asynccontextmanager
async def get_db_session():
    async with SessionLocal() as db:
        try:
            yield db
            await db.commit()
        except Exception:
            await db.rollback()
            raise


async def purge_expired_tokens():
    """Runs from the scheduler, outside any request."""
    async with get_db_session() as db:  # one session for the whole purge
        await db.execute(delete(Token).where(Token.expired))
        await db.commit()


async def send_digest(user_id: int):
    async with get_db_session() as db:
        user = await db.get(User, user_id)
        if user is None:
            return
        await mailer.send(user.email, "digest")


@app.post("/signup")
async def signup(tasks: BackgroundTasks, db: AsyncSession = Depends(get_db)):
    tasks.add_task(send_digest, 1)
    return {"ok": True}


if __name__ == "__main__":
    asyncio.run(purge_expired_tokens())
