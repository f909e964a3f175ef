from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.get("/items")
async def list_items(store):
    # No deprecated ORJSONResponse for FastAPI >= 0.131: a finding instead.
    return JSONResponse(content=await store.all())
