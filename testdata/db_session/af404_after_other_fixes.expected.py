"""AF404 judges the body as the other families leave it."""

import asyncio

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_db

router = APIRouter()


def _label(name):
    return name.title()


@router.get("/labels")
def labels(db: Session = Depends(get_db)):
    # AF601 makes _label a def and un-awaits this call: then nothing here awaits.
    return [_label(item.name) for item in db.query(Item)]


@router.get("/slow")
async def slow(db: Session = Depends(get_db)):
    # AF203 awaits asyncio.sleep instead: then the body awaits, and it stays async.
    await asyncio.sleep(0.1)
    return db.query(Item).count()
