from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")  # asyncfix: ignore[AF301]
async def connect():
    ...


@app.on_event("shutdown")
async def close():
    ...
