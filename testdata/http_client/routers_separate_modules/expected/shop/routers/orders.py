import asyncio

from fastapi import APIRouter, Depends, Request

from .. import services
from ..auth import current_user

router = APIRouter(prefix="/orders")


@router.get("/{order_id}")
async def get_order(order_id: int, user=Depends(current_user), *, request: Request):
    order = await asyncio.to_thread(services.load, order_id)
    stock = (
        await request.app.state.http_client.get(f"https://stock.example/{order_id}")
    ).json()
    return {"order": order, "stock": stock, "user": user}
