import httpx
from fastapi import APIRouter

router = APIRouter()


@router.get("/")
async def headlines():
    async with httpx.AsyncClient() as client:
        return (await client.get("https://news.example")).json()


@router.get("/raw")
async def raw():
    async with httpx.AsyncClient(timeout=2) as client:
        return (await client.get("https://news.example/raw")).text
