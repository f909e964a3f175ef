import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/profile/{name}")
async def profile(name: str):
    r = requests.get(f"http://upstream/{name}", timeout=5)
    return r.json()
