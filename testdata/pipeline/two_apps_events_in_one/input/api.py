import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index(url: str):
    r = requests.get(url)
    return r.status_code
