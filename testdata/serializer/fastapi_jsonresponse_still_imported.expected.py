from fastapi import FastAPI
from fastapi.responses import JSONResponse, ORJSONResponse

app = FastAPI()


@app.get("/items")
async def list_items(store):
    return ORJSONResponse(await store.all())


async def on_error(request, exc):
    # Not a path operation: left alone, so JSONResponse stays imported.
    return JSONResponse({"detail": str(exc)}, status_code=500)
