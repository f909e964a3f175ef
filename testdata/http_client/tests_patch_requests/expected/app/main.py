import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/x")
async def x():
    return requests.get("https://example.org").text
