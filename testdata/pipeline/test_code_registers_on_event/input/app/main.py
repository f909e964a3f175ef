from fastapi import FastAPI

app = FastAPI()
STATE = {"ready": False}


@app.on_event("startup")
async def startup():
    STATE["ready"] = True
