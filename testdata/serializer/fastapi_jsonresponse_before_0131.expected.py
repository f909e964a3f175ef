"""Items API on FastAPI 0.115."""
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, ORJSONResponse

app = FastAPI()
router = APIRouter(prefix="/items")


@app.get("/items")
async def list_items(store):
    items = await store.all()
    return ORJSONResponse(content={"items": items, "count": len(items)})


@router.post("/", status_code=201)
async def create_item(store, item):
    created = await store.add(item)
    response = ORJSONResponse(
        created, status_code=201, headers={"Location": f"/items/{created['id']}"}
    )
    return response


@app.get("/health")
async def health():
    # A small literal payload: nothing to gain.
    return JSONResponse({"ok": True, "version": "1.0"})


@app.get("/sync")
def sync_route(store):
    # A sync path operation runs in the threadpool, not on the loop.
    return JSONResponse(store.all_sync())
