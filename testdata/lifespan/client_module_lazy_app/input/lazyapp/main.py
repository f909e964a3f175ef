from contextlib import asynccontextmanager

from fastapi import FastAPI
from lazyapp.helpers import both_open, session_id
from lazyapp.routers.items import router

EVENTS: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI):
    EVENTS.append("startup")
    yield
    EVENTS.append("shutdown")


app = FastAPI(lifespan=lifespan)
app.include_router(router)


@app.get("/health")
async def health() -> dict[str, object]:
    return {"open": await both_open(), "session": session_id()}
