"""Orders service, written the legacy way: every async performance killer is here."""

import json
import time

import aiohttp
import requests
from fastapi import FastAPI, Response

app = FastAPI()

# Import-time session with default limits, never closed.
SESSION = aiohttp.ClientSession()

INVENTORY_URL = "http://127.0.0.1:8081/inventory"


@app.on_event("startup")
async def warm_up():
    time.sleep(0.1)  # give the upstream a moment


@app.get("/orders/{order_id}")
async def get_order(order_id: int):
    upstream = requests.get(f"{INVENTORY_URL}/{order_id}")
    body = json.dumps({"id": order_id, "stock": upstream.json()})
    return Response(content=body, media_type="application/json")


@app.get("/health")
async def health():
    time.sleep(0.01)
    return {"ok": True}
