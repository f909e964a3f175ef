from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI


async def _settings():
    return {"debug": False}


@asynccontextmanager
async def lifespan(app):
    yield


app = FastAPI(lifespan=lifespan)


async def _on_shutdown():
    return None


app.add_event_handler("shutdown", _on_shutdown)


@app.get("/health")
async def health(settings=Depends(_settings)):
    return {"ok": True, "debug": settings["debug"]}


@app.exception_handler(ValueError)
async def _bad_value(request, exc):
    return {"error": str(exc)}
