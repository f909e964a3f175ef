from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/shop", pool_size=10)
Session = async_sessionmaker(engine)

app = FastAPI()


@app.on_event("shutdown")
async def say_bye():
    print("bye")
