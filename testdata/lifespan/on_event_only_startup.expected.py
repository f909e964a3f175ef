import fastapi
from contextlib import asynccontextmanager


@asynccontextmanager
async def lifespan(app: fastapi.FastAPI):
    seed()
    yield


app = fastapi.FastAPI(lifespan=lifespan)


def seed():
    print("seeded")
