from fastapi import APIRouter

from svc.main import http as upstream

router = APIRouter()


@router.get("/{user_id}")
async def get_user(user_id: int, verbose: bool = False):
    return (await upstream.get(f"/users/{user_id}")).json()


@router.get("/")
async def list_users():
    return (await upstream.get("/users")).json()
