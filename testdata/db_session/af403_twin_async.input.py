import asyncio

from fastapi import BackgroundTasks, Depends, FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite:///./app.db")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

app = FastAPI()


async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        await db.close()


async def purge_expired_tokens():
    """Runs from the scheduler, outside any request."""
    db = SessionLocal()  # one session for the whole purge
    try:
        await db.execute(delete(Token).where(Token.expired))
        await db.commit()
    finally:
        await db.close()


async def send_digest(user_id: int):
    db: AsyncSession = SessionLocal()
    try:
        user = await db.get(User, user_id)
        if user is None:
            return
        await mailer.send(user.email, "digest")
    finally:
        await db.close()


@app.post("/signup")
async def signup(tasks: BackgroundTasks, db: AsyncSession = Depends(get_db)):
    tasks.add_task(send_digest, 1)
    return {"ok": True}


if __name__ == "__main__":
    asyncio.run(purge_expired_tokens())
