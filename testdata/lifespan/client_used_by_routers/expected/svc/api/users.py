from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/{user_id}")
async def get_user(user_id: int, verbose: bool = False, *, request: Request):
    return (await request.app.state.http.get(f"/users/{user_id}")).json()


@router.get("/")
async def list_users(request: Request):
    return (await request.app.state.http.get("/users")).json()
