from fastapi import FastAPI

from .lifecycle import make_lifespan

app = FastAPI(lifespan=make_lifespan(debug=True))


@app.on_event("startup")
async def warm():
    ...
