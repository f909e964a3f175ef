from fastapi import FastAPI

from svc.routes import router

TIMEOUT = 5
app = FastAPI()
app.include_router(router)
