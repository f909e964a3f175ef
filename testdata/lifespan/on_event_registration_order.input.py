from fastapi import FastAPI, APIRouter


async def warm_cache():
    ...


def load_models():
    ...


def close_files():
    ...


async def stop_workers():
    ...


app = FastAPI(
    title="search",
    on_startup=[warm_cache],
    on_shutdown=[close_files],
)
router = APIRouter()


@router.on_event("startup")
async def router_ready():
    ...


@router.get("/q")
async def query():
    return []


app.router.add_event_handler("startup", load_models)
app.include_router(router)


@app.on_event("shutdown")
async def stop():
    await stop_workers()
