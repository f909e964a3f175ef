from collections.abc import Iterator

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)
AsyncSessionLocal = async_sessionmaker(create_async_engine("sqlite+aiosqlite:///app.db"))
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_annotated() -> Iterator[Session]:
    yield make_session()


async def get_async_db():
    async with AsyncSessionLocal() as db:
        yield db


@app.get("/a")
async def from_yield(db=Depends(get_db)):
    return crud.list_items(db)


@app.get("/b")
async def from_annotation(db=Depends(dependency=get_annotated)):
    return crud.list_items(db)


@app.get("/c")
async def from_async(db=Depends(get_async_db)):
    return await crud.list_items_async(db)
