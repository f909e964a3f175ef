"""Blocking file-system calls of os, os.path, shutil and pathlib.Path in async code."""

import os
import os.path
import shutil
from pathlib import Path

from fastapi import FastAPI

app = FastAPI()
UPLOADS = Path("/srv/uploads")
INDEX = {"count": 0}


@app.post("/files/{name}")
async def save(name: str, body: bytes):
    target = UPLOADS / name
    target.write_bytes(body)
    os.makedirs(UPLOADS / "thumbs", exist_ok=True)
    shutil.copy2(target, UPLOADS / "thumbs" / name)
    return {"size": os.path.getsize(target)}


@app.get("/files/{name}")
async def show(name: str, root: Path):
    if not os.path.exists(root / name):
        return None
    return f"{(root / name).read_text(encoding='utf-8')}"


@app.delete("/files")
async def purge():
    shutil.rmtree(UPLOADS / "thumbs")
    for entry in os.scandir(UPLOADS):  # lazy: iterating reads the directory
        os.remove(entry.path)
    with Path("/srv/log.txt").open("a") as log:  # the file object blocks too
        log.write("purged\n")


@app.put("/files/{name}")
async def put_once(name: str, body: bytes):
    path = UPLOADS / name
    if not os.path.exists(path):  # checked, then written: a thread between would race
        with open(path, "wb") as out:
            out.write(body)
    return {"stored": True}


@app.post("/count")
async def count(name: str):
    # Read, then written back: a thread in between would let requests interleave.
    INDEX["count"] += len(os.listdir(UPLOADS))
    return INDEX


def sync_helper(path: Path) -> str:
    return path.read_text()  # not in async code: left alone
