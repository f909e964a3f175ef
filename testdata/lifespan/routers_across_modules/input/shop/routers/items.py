from fastapi import APIRouter

router = APIRouter()


@router.on_event("startup")
async def startup():
    """Same name as the app's own handler: imported under another name."""
    print("items up")


@router.get("/")
async def list_items():
    return []
