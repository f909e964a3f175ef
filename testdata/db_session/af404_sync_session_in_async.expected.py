from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://app@db/app")
SessionLocal = sessionmaker(bind=engine)
router = APIRouter()
SessionDep = Annotated[Session, Depends(get_db)]


@router.get("/items")
def list_items(db: Session = Depends(get_db)):
    return db.query(Item).all()


@router.get("/health")
def health():
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"ok": True}


@router.post("/items")
def create_item(item: ItemIn):
    with Session(engine) as db:
        db.add(Item(**item.model_dump()))
        db.commit()
    with SessionLocal() as again:
        again.flush()
    return {"ok": True}


@router.get("/sync-is-fine")
def sync_route(db: Session = Depends(get_db)):
    return db.query(Item).all()


async def not_a_route(db: Session):
    return db.query(Item).all()


@router.get("/items/{item_id}")
def read_item(item_id: int, session: SessionDep):
    return session.get(Item, item_id)
