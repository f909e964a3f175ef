import httpx
from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/")
async def headlines(request: Request):
    client = request.app.state.http_client
    return (await client.get("https://news.example")).json()


@router.get("/raw")
async def raw():
    async with httpx.AsyncClient(timeout=2) as client:
        return (await client.get("https://news.example/raw")).text
