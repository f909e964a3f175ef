from fastapi import APIRouter

from svc.clients import get_http, timeout

router = APIRouter()


@router.get("/up")
async def up() -> int:
    return (await get_http().get("https://up.example", timeout=timeout())).status_code
