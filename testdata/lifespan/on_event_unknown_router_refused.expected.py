from fastapi import FastAPI

from .plugins import plugin_router

app = FastAPI()
app.include_router(plugin_router)


@app.on_event("startup")
async def connect():
    ...
