import asyncio
import json


def _version():
    return "1.0"


async def save(store, item):
    await asyncio.sleep(0.01)
    store.append(json.dumps(item))


async def report(store):
    return {"version": _version(), "items": len(store)}
