"""A service on a FastAPI with lifespan= in its own requirements.txt: the other service's pin
does not hold it back."""
from fastapi import FastAPI

app = FastAPI()
READY = []


@app.on_event("startup")
async def startup():
    READY.append(True)
