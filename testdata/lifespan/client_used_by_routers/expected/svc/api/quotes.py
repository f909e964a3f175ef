from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/quote/{sku}")
async def quote(sku: str, req: Request):
    response = await req.app.state.http.get(
        f"/quote/{sku}", headers={"x-id": req.headers["x-id"]}
    )
    return response.json()
