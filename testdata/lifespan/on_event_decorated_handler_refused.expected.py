import functools

from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
@functools.cache
def load_settings():
    ...


@app.on_event("shutdown")
async def close():
    ...
