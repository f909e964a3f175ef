import requests
from fastapi import APIRouter

router = APIRouter()


@router.get("/users/{name}")
async def user(name: str):
    return requests.get(f"https://users.example/{name}").json()
