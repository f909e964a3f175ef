"""A JSON file store: read, change, write back. With no await between the read and the
write no two calls interleave; an offload of either half would let them (lost updates)."""
import asyncio
import json

import pandas as pd

PATH = "counters.json"
STATS = {"exports": 0}


async def increment(name):
    with open(PATH) as f:
        data = json.load(f)
    data[name] = data.get(name, 0) + 1
    with open(PATH, "w") as f:
        json.dump(data, f)
    return data[name]


async def read_only(name):
    with open(PATH) as f:
        data = await asyncio.to_thread(json.load, f)
    return data.get(name, 0)


async def already_split(name):
    with open(PATH) as f:
        data = await load_remote(f)
    await notify(name)
    data[name] = 1
    with open(PATH, "w") as f:
        await asyncio.to_thread(json.dump, data, f)


class Exporter:
    def __init__(self):
        self.total = 0

    async def export(self, path):
        total = self.total
        df = pd.read_csv(path)
        self.total = total + len(df)
        return await asyncio.to_thread(df.to_dict, "records")

    async def export_alone(self, path):
        df = await asyncio.to_thread(pd.read_csv, path)
        return await asyncio.to_thread(df.to_json)


async def export_counted(path):
    count = STATS["exports"]
    df = pd.read_csv(path)
    STATS["exports"] = count + 1
    return df
