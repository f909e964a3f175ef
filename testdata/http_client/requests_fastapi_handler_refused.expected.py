import httpx2
import requests
from fastapi import APIRouter, Depends, FastAPI

app = FastAPI()
router = APIRouter()


@app.on_event("startup")
async def warm_up():
    # `lifespan=` would silently disable this handler: no shared client here
    pass


async def current_user(token: str):
    return requests.get("https://auth.example/me", headers={"Authorization": token}).json()


@app.get("/weather/{city}")
async def weather(city: str):
    return requests.get(f"https://weather.example/{city}").json()


@router.post("/hooks")
async def hook(user=Depends(current_user)):
    return user


async def helper_outside_handlers(city):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(f"https://weather.example/{city}")).json()
