from .main import app


@app.on_event("startup")
async def warm_up():
    pass  # `lifespan=` on the app would silently disable this handler
