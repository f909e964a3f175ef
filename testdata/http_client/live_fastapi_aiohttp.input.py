"""A FastAPI app run by tests/test_http_client_live.py before and after (it sets UPSTREAM)."""

import requests
from fastapi import Depends, FastAPI

UPSTREAM = "http://127.0.0.1:9"

app = FastAPI()


async def upstream_user(token: str = "t"):
    r = requests.get(f"{UPSTREAM}/json", params={"user": token})
    r.raise_for_status()
    return r.json()["query"]


@app.get("/proxy/{name}")
async def proxy(name: str, user=Depends(upstream_user)):
    r = requests.get(f"{UPSTREAM}/json", params={"name": name})
    return {"upstream": r.json(), "ok": r.ok, "status": r.status_code, "user": user}


@app.get("/missing")
async def missing():
    try:
        requests.get(f"{UPSTREAM}/missing").raise_for_status()
    except requests.HTTPError:
        return {"error": True}
    return {"error": False}


@app.get("/head")
async def head():
    return {"status": requests.head(f"{UPSTREAM}/redirect").status_code}


@app.post("/forward")
async def forward(payload: dict):
    return requests.post(f"{UPSTREAM}/echo", json=payload).json()
