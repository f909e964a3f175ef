"""A sync Session named in a string annotation, under another name."""

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session as SyncSession

from app.config import get_db

router = APIRouter()


@router.get("/items")
async def items(db: "SyncSession" = Depends(get_db)):
    return await fetch(db)
