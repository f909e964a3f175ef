from contextlib import asynccontextmanager

from fastapi import FastAPI, APIRouter


async def warm_cache():
    ...


def load_models():
    ...


def close_files():
    ...


async def stop_workers():
    ...


@asynccontextmanager
async def lifespan(app: FastAPI):
    await warm_cache()
    load_models()
    await router_ready()
    try:
        yield
    finally:
        close_files()
        await stop()


app = FastAPI(
    title="search",
    lifespan=lifespan,
)
router = APIRouter()


async def router_ready():
    ...


@router.get("/q")
async def query():
    return []


app.include_router(router)


async def stop():
    await stop_workers()
