from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.ready = True
    await warm()
    try:
        yield
    finally:
        app.state.ready = False
        await flush()


app = FastAPI(lifespan=lifespan)


# Today this never runs: lifespan= disables on_event handlers.
async def warm():
    ...


async def flush():
    ...
