from fastapi import APIRouter, Request

from ..main import http

router = APIRouter()


@router.get("/quote/{sku}")
async def quote(sku: str, req: Request):
    response = await http.get(f"/quote/{sku}", headers={"x-id": req.headers["x-id"]})
    return response.json()
