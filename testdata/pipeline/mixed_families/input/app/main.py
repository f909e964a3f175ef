import json

import requests
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

app = FastAPI()


async def _fetch(url):
    return requests.get(url).json()


async def _dump(data):
    return json.dumps(data)


async def _plain(text):
    return text.strip().lower()


@app.get("/")
async def handler(db: AsyncSession, url: str):
    data = await _fetch(url)
    text = await _dump(data)
    db.commit()
    return await _plain(text)
