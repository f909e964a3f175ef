from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(admin: FastAPI):
    await boot()
    yield


admin = FastAPI(lifespan=lifespan)


async def boot():
    print("up")
