import orjson
from fastapi import FastAPI, Response
from fastapi.responses import ORJSONResponse

app = FastAPI()


@app.get("/orders/{order_id}")
async def get_order(order_id: int, repo):
    order = await repo.get(order_id)
    return ORJSONResponse(content=order)


@app.post("/orders", status_code=201)
async def create_order(repo, payload):
    order = await repo.add(payload)
    return ORJSONResponse(
        order,
        status_code=201,
        headers={"Location": f"/orders/{order['id']}"},
    )


@app.get("/orders/{order_id}/sorted")
async def get_sorted(order_id: int, repo):
    # ORJSONResponse takes no options: sort_keys keeps a Response, serialized by orjson.
    order = await repo.get(order_id)
    return Response(
        orjson.dumps(order, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS),
        media_type="application/json",
    )


@app.get("/orders/{order_id}/api")
async def get_api(order_id: int, repo):
    order = await repo.get(order_id)
    return ORJSONResponse(order, media_type="application/vnd.api+json")
