import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/calc")
async def calc():
    r = requests.get("http://upstream/add")
    return r.json()
