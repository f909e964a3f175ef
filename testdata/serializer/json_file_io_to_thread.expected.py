import asyncio
import json

import aiofiles


async def load_settings(path):
    with open(path) as f:
        settings = await asyncio.to_thread(json.load, f)
    return settings


async def save_snapshot(path, rows):
    snapshot = {"rows": rows, "version": 2}
    with open(path, "w", encoding="utf-8") as f:
        await asyncio.to_thread(json.dump, snapshot, f, indent=2, ensure_ascii=False)


async def quick_load(path):
    return await asyncio.to_thread(json.load, open(path))


async def refused(self, path, stream):
    with open(path, "w") as f:
        json.dump(self.state, f)  # an attribute: other tasks may change it meanwhile
    json.dump({"a": 1}, stream)  # not known to be a file opened here
    async with aiofiles.open(path) as af:
        return json.load(af)  # an async file: not a plain file object
