import requests
from fastapi import APIRouter, Depends, FastAPI, Request

app = FastAPI(title="weather")
router = APIRouter(prefix="/v1")


async def current_user(token: str = ""):
    r = requests.get("https://auth.example/me", headers={"Authorization": token})
    r.raise_for_status()
    return r.json()


@app.get("/weather/{city}")
async def weather(city: str, units: str = "metric"):
    if requests.head(f"https://weather.example/{city}").ok:
        return requests.get(f"https://weather.example/{city}", params={"units": units}).json()
    return None


@router.post("/hooks")
async def hook(req: Request, user=Depends(current_user)):
    try:
        requests.post("https://audit.example/", json={"user": user}).raise_for_status()
    except requests.HTTPError:
        return {"audited": False, "path": req.url.path}
    return {"audited": True}


@app.websocket("/ws")
async def ws(websocket):
    return requests.get("https://weather.example/").text


app.include_router(router)
