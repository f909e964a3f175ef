from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app import deps
from app.db import Item, get_db

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]


@router.get("/items")
def list_items(db: Db, user=Depends(deps.get_current_user)):
    query = db.query(Item).filter(Item.owner_id == user.id).order_by(Item.id)
    return [item.name for item in query]


@router.post("/items/{name}")
def add_item(name: str, db: Db, user=Depends(deps.get_current_user)):
    db.add(Item(name=name, owner_id=user.id))
    db.flush()
    return {"name": name}


@router.get("/count")
async def count(db: Db):
    # Awaited by app/report.py as well: it must stay a coroutine function.
    return db.query(Item).count()


@router.delete("/items/{name}")
def remove_item(name: str, db=Depends(get_db), user=Depends(deps.get_current_user)):
    # No annotation: the Session is known from what get_db yields.
    query = db.query(Item).filter(Item.owner_id == user.id, Item.name == name)
    return {"deleted": query.delete()}
