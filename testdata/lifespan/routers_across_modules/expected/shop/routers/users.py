from fastapi import APIRouter

router = APIRouter(on_shutdown=[])


async def load_users():
    print("users up")
