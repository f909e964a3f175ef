"""Async dependencies, class-based views and per-request engines with a sync Session."""

import asyncio
import functools

from fastapi import APIRouter, Depends, HTTPException
from fastapi_utils.cbv import cbv
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, create_engine

from app.db import get_db

router = APIRouter()
HITS = {"count": 0}


def get_current_user(token: str, db: Session = Depends(get_db)):
    user = db.query(User).filter(User.token == token).first()
    if user is None:
        raise HTTPException(status_code=401)
    return user


def get_engine_session():
    # A new engine and the DDL on every request: blocking, on the loop.
    engine = create_engine("sqlite:///app.db")
    SQLModel.metadata.create_all(engine)
    return Session(engine)


@cbv(router)
class ItemViews:
    db: Session = Depends(get_db)
    user = Depends(get_current_user)

    @router.get("/items")
    def list_items(self):
        return self.db.query(Item).filter(Item.owner == self.user.id).all()

    @router.post("/items")
    def add_item(self, name: str):
        self.db.add(Item(name=name, owner=self.user.id))
        self.db.commit()
        return {"name": name}


@router.get("/engine")
def engine_route(session: Session = Depends(get_engine_session)):
    return session.query(Item).count()


# -- left async, reported ---------------------------------------------------------------


@router.get("/counted")
async def counted(db: Session = Depends(get_db)):
    HITS["count"] += 1  # atomic on the loop, a race in the thread pool
    return db.query(Item).count()


@router.get("/scheduled")
async def scheduled(db: Session = Depends(get_db)):
    asyncio.create_task(audit())  # needs the running loop: not from a worker thread
    return db.query(Item).count()


@router.get("/cached")
@functools.lru_cache
async def cached(db: Session = Depends(get_db)):
    return db.query(Item).count()


async def get_owner(db: Session = Depends(get_db)):
    return db.query(User).first()


@router.get("/owner")
async def owner(user=Depends(get_owner)):
    return user


async def summary(db: Session):
    # Not FastAPI's: called directly, and it awaits a dependency it calls by hand.
    return {"owner": await get_owner(db)}


async def get_db_async_generator():
    with Session(create_engine("sqlite://")) as db:
        try:
            yield db
            db.commit()
        except Exception:
            db.rollback()
            raise


@router.get("/generated")
async def generated(db: Session = Depends(get_db_async_generator)):
    await asyncio.sleep(0)
    return db.query(Item).count()
