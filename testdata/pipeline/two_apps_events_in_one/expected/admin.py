from fastapi import FastAPI
from contextlib import asynccontextmanager


@asynccontextmanager
async def lifespan(admin: FastAPI):
    await boot()
    yield


admin = FastAPI(lifespan=lifespan)


async def boot():
    print("up")
