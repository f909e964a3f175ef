import json

import httpx2
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

app = FastAPI()


async def _fetch(url):
    async with httpx2.AsyncClient(follow_redirects=True, timeout=None) as client:
        return (await client.get(url)).json()


async def _dump(data):
    return json.dumps(data)


def _plain(text):
    return text.strip().lower()


@app.get("/")
async def handler(db: AsyncSession, url: str):
    data = await _fetch(url)
    text = await _dump(data)
    await db.commit()
    return _plain(text)
