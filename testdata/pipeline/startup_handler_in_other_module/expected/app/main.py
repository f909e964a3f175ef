from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from .deps import _current_user, _startup


@asynccontextmanager
async def lifespan(app: FastAPI):
    await _startup()
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/me")
async def me(user=Depends(_current_user)):
    return user
