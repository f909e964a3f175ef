from fastapi import APIRouter

# Never included anywhere: its handler never runs.
router = APIRouter()


@router.on_event("startup")
async def admin_ready():
    ...
