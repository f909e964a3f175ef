from fastapi import APIRouter

router = APIRouter()

# A lambda cannot be called by name from the app's lifespan: the whole app stays as is.
router.add_event_handler("startup", lambda: print("orders up"))


@router.on_event("shutdown")
async def close_orders():
    ...
