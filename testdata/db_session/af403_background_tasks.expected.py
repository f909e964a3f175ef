from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_db

app = FastAPI()
DbSession = Annotated[AsyncSession, Depends(get_db)]


async def audit(db: AsyncSession, action: str) -> None:
    db.add(AuditLog(action=action))
    await db.commit()


@app.post("/orders")
async def create_order(tasks: BackgroundTasks, db: AsyncSession = Depends(get_db)):
    tasks.add_task(audit, db, "create")
    return {"ok": True}


@app.delete("/orders/{order_id}")
async def delete_order(
    order_id: int, tasks: BackgroundTasks, db: Annotated[AsyncSession, Depends(get_db)]
):
    tasks.add_task(audit, db=db, action="delete")
    return {"ok": True}


@app.get("/orders")
async def list_orders(tasks: BackgroundTasks):
    tasks.add_task(audit_later, "list")
    return []


@app.put("/orders/{order_id}")
async def update_order(order_id: int, tasks: BackgroundTasks, db: DbSession):
    tasks.add_task(audit, db, "update")
    return {"ok": True}
