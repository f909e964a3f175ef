from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.get("/items")
async def list_items(store):
    return JSONResponse(await store.all())
