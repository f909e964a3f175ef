"""Orders service, written the legacy way: every async performance killer is here."""

import json
import os
import time

import aiohttp
import requests
from fastapi import Depends, FastAPI, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Base, Order, engine, get_db

UPSTREAM_URL = os.environ.get("LEGACY_APP_UPSTREAM", "http://127.0.0.1:8081")

app = FastAPI(title="orders")

# Import-time session with default limits, never closed.
SESSION = aiohttp.ClientSession()

SEED = [("WIDGET-1", 3, 1250), ("GADGET-7", 1, 9900), ("SPROCKET-2", 12, 75)]


class OrderIn(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


@app.on_event("startup")
async def create_schema():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        count = (await conn.execute(select(func.count(Order.id)))).scalar_one()
        if count == 0:
            await conn.execute(
                Order.__table__.insert(),
                [{"sku": s, "quantity": q, "unit_price_cents": p} for s, q, p in SEED],
            )


@app.on_event("startup")
async def warm_up():
    time.sleep(0.1)  # give the upstream a moment


# Async on nothing: no I/O in here.
async def _order_total(order: Order) -> int:
    return order.quantity * order.unit_price_cents


def _order_json(order: Order, total: int, stock: int) -> dict:
    return {
        "id": order.id,
        "sku": order.sku,
        "quantity": order.quantity,
        "unit_price_cents": order.unit_price_cents,
        "total_cents": total,
        "in_stock": stock,
    }


@app.get("/orders/{order_id}")
async def get_order(order_id: int, db: AsyncSession = Depends(get_db)):
    order = await db.get(Order, order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="no such order")
    upstream = requests.get(f"{UPSTREAM_URL}/inventory/{order.sku}")
    upstream.raise_for_status()
    total = await _order_total(order)
    body = json.dumps(_order_json(order, total, upstream.json()["stock"]))
    return Response(content=body, media_type="application/json")


@app.post("/orders", status_code=201)
async def create_order(payload: OrderIn, db: AsyncSession = Depends(get_db)):
    upstream = requests.get(f"{UPSTREAM_URL}/inventory/{payload.sku}")
    upstream.raise_for_status()
    stock = upstream.json()["stock"]
    if payload.quantity > stock:
        raise HTTPException(status_code=409, detail="not enough stock")
    order = Order(**payload.model_dump())
    db.add(order)
    await db.commit()
    db.refresh(order)  # forgotten await: the coroutine never runs
    total = await _order_total(order)
    body = json.dumps(_order_json(order, total, stock))
    return Response(content=body, status_code=201, media_type="application/json")


@app.get("/quotes/{sku}")
async def get_quote(sku: str, quantity: int = 1):
    async with SESSION.get(f"{UPSTREAM_URL}/price/{sku}") as resp:
        resp.raise_for_status()
        price = await resp.json()
    return {"sku": sku, "quantity": quantity, "total_cents": price["cents"] * quantity}


@app.get("/health")
async def health():
    return {"ok": True}
