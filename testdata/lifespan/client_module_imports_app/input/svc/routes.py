from fastapi import APIRouter

from svc.clients import http, timeout

router = APIRouter()


@router.get("/up")
async def up() -> int:
    return (await http.get("https://up.example", timeout=timeout())).status_code
