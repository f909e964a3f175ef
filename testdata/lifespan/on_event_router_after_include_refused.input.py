from fastapi import APIRouter, FastAPI

app = FastAPI()
router = APIRouter()
app.include_router(router)


# Registered after include_router: FastAPI never copies it to the app.
@router.on_event("startup")
async def late():
    ...


@app.on_event("startup")
async def connect():
    ...
