import json
import time


async def _version():
    return "1.0"


async def save(store, item):
    time.sleep(0.01)
    store.append(json.dumps(item))


async def report(store):
    return {"version": await _version(), "items": len(store)}
