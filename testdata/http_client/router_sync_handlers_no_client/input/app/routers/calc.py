import requests
from fastapi import APIRouter

router = APIRouter()


@router.get("/calc")
def calc():
    # A plain def: FastAPI runs it in its thread pool, so nothing blocks the loop.
    r = requests.get("http://upstream/add")
    return r.json()
