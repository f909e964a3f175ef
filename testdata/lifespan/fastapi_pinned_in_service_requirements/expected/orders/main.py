"""A service pinned below FastAPI 0.93 in its own requirements.txt: lifespan= would be
ignored there, and the startup handler would never run."""
from fastapi import FastAPI

app = FastAPI()
READY = []


@app.on_event("startup")
async def startup():
    READY.append(True)
