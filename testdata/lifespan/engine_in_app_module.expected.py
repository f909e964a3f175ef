from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/shop", pool_size=10)
Session = async_sessionmaker(engine)


@asynccontextmanager
async def lifespan(app: FastAPI):
    try:
        yield
    finally:
        await say_bye()
        await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def say_bye():
    print("bye")
