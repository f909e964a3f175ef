from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.ready = True
    try:
        yield
    finally:
        app.state.ready = False


app = FastAPI(lifespan=lifespan)


# Today this never runs: lifespan= disables on_event handlers.
@app.on_event("startup")
async def warm():
    ...


@app.on_event("shutdown")
async def flush():
    ...
