# lifespan= on the app would silently stop this handler: nothing may add one.
from api import app


@app.on_event("startup")
async def second():
    print("second")
