from contextlib import asynccontextmanager

import httpx2
import requests
from fastapi import APIRouter, Depends, FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http_client = httpx2.AsyncClient(follow_redirects=True, timeout=None)
    try:
        yield
    finally:
        await app.state.http_client.aclose()


app = FastAPI(title="weather", lifespan=lifespan)
router = APIRouter(prefix="/v1")


async def current_user(token: str = "", *, request: Request):
    r = await request.app.state.http_client.get(
        "https://auth.example/me", headers={"Authorization": token}
    )
    r.raise_for_status()
    return r.json()


@app.get("/weather/{city}")
async def weather(city: str, units: str = "metric", *, request: Request):
    if not (
        await request.app.state.http_client.head(
            f"https://weather.example/{city}", follow_redirects=False
        )
    ).is_error:
        return (
            await request.app.state.http_client.get(
                f"https://weather.example/{city}", params={"units": units}
            )
        ).json()
    return None


@router.post("/hooks")
async def hook(req: Request, user=Depends(current_user)):
    try:
        (
            await req.app.state.http_client.post(
                "https://audit.example/", json={"user": user}
            )
        ).raise_for_status()
    except httpx2.HTTPStatusError:
        return {"audited": False, "path": req.url.path}
    return {"audited": True}


@app.websocket("/ws")
async def ws(websocket):
    return requests.get("https://weather.example/").text


app.include_router(router)
