"""A test fixture registers a handler on the app itself: lifespan= on the app would
silently stop it, and asyncfix does not change test code by default."""
from app.main import STATE, app


@app.on_event("startup")
async def seed():
    STATE["seeded"] = True
