import requests
from fastapi import APIRouter, Depends

from .. import services
from ..auth import current_user

router = APIRouter(prefix="/orders")


@router.get("/{order_id}")
async def get_order(order_id: int, user=Depends(current_user)):
    order = services.load(order_id)
    stock = requests.get(f"https://stock.example/{order_id}").json()
    return {"order": order, "stock": stock, "user": user}
