import json

from fastapi import FastAPI, Response

app = FastAPI()


@app.get("/orders/{order_id}")
async def get_order(order_id: int, repo):
    order = await repo.get(order_id)
    return Response(content=json.dumps(order), media_type="application/json")


@app.post("/orders", status_code=201)
async def create_order(repo, payload):
    order = await repo.add(payload)
    return Response(
        json.dumps(order, ensure_ascii=False).encode("utf-8"),
        status_code=201,
        headers={"Location": f"/orders/{order['id']}"},
        media_type="application/json",
    )


@app.get("/orders/{order_id}/sorted")
async def get_sorted(order_id: int, repo):
    # ORJSONResponse takes no options: sort_keys keeps a Response, serialized by orjson.
    order = await repo.get(order_id)
    return Response(json.dumps(order, sort_keys=True), media_type="application/json")


@app.get("/orders/{order_id}/api")
async def get_api(order_id: int, repo):
    order = await repo.get(order_id)
    return Response(json.dumps(order), media_type="application/vnd.api+json")
