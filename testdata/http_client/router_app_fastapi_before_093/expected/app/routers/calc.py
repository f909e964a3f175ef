import requests
from fastapi import APIRouter

router = APIRouter()


@router.get("/calc")
async def calc():
    r = requests.get("http://upstream/add")
    return r.json()
