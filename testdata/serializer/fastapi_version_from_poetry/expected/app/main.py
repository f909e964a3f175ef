from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

app = FastAPI()


@app.get("/items")
async def list_items(store):
    return ORJSONResponse(await store.all())
