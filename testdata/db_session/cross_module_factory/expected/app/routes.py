from fastapi import APIRouter
from sqlalchemy import text

from app.database import AsyncSessionLocal, SessionLocal, engine

router = APIRouter()


@router.get("/count")
def count():
    with SessionLocal() as db:
        return db.execute(text("SELECT count(*) FROM items")).scalar_one()


@router.get("/ping")
def ping():
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"ok": True}


@router.get("/async-is-fine")
async def async_count():
    async with AsyncSessionLocal() as db:
        return (await db.execute(text("SELECT count(*) FROM items"))).scalar_one()


@router.get("/sync-def-is-fine")
def sync_count():
    with SessionLocal() as db:
        return db.execute(text("SELECT count(*) FROM items")).scalar_one()
