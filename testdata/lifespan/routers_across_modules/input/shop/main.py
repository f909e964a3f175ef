from fastapi import FastAPI

from .routers import items
from .routers.users import router as users_router

app = FastAPI()


@app.on_event("startup")
async def startup():
    print("app up")


app.include_router(items.router, prefix="/items")
app.include_router(users_router)


@app.on_event("shutdown")
def shutdown():
    print("app down")
