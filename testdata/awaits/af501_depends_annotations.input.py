from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

app = FastAPI()
Session = async_sessionmaker()


async def get_db() -> AsyncIterator[AsyncSession]:
    async with Session() as session:
        yield session


async def get_plain_db():
    async with Session() as session:
        yield session


@app.post("/items")
async def create(item: dict, db=Depends(get_db)):
    db.add(item)
    db.commit()


@app.put("/items")
async def update(item: dict, db: Annotated[AsyncSession, Depends(get_db)]):
    db.merge(item)
    db.commit()


@app.delete("/items")
async def delete(item: dict, db=Depends(get_plain_db)):
    db.commit()  # no return annotation: the type is unknown, left alone
