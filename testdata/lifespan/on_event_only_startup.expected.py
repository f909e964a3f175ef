from contextlib import asynccontextmanager

import fastapi


@asynccontextmanager
async def lifespan(app: fastapi.FastAPI):
    seed()
    yield


app = fastapi.FastAPI(lifespan=lifespan)


def seed():
    print("seeded")
