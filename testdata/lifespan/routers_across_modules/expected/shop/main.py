from contextlib import asynccontextmanager

from fastapi import FastAPI

from .routers import items
from .routers.items import startup as items_startup
from .routers.users import load_users
from .routers.users import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI):
    await startup()
    await items_startup()
    await load_users()
    try:
        yield
    finally:
        shutdown()


app = FastAPI(lifespan=lifespan)


async def startup():
    print("app up")


app.include_router(items.router, prefix="/items")
app.include_router(users_router)


def shutdown():
    print("app down")
