from fastapi import FastAPI

from .api.orders import router

app = FastAPI()
app.include_router(router)


@app.on_event("startup")
async def connect():
    ...
