from fastapi import FastAPI

from .routers import calc

app = FastAPI()
app.include_router(calc.router)
