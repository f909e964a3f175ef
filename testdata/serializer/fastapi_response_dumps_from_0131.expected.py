import orjson
from fastapi import FastAPI, Response

app = FastAPI()


@app.get("/orders/{order_id}")
async def get_order(order_id: int, repo):
    order = await repo.get(order_id)
    body = orjson.dumps(order, option=orjson.OPT_NON_STR_KEYS)
    return Response(content=body, media_type="application/json")


@app.post("/orders", status_code=201)
async def create_order(repo, payload):
    order = await repo.add(payload)
    return Response(
        content=orjson.dumps(order, option=orjson.OPT_NON_STR_KEYS),
        status_code=201,
        media_type="application/json",
    )
