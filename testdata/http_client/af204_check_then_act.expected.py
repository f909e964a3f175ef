"""A check of a file and an act on it: no new suspension point may come between them
(found on lnbits and fastapi-microservice-with-mongodb)."""

import asyncio
import os
import shutil
from pathlib import Path


async def drop_zip(ext_zip_file: Path) -> None:
    if ext_zip_file.is_file():
        os.remove(ext_zip_file)


async def build_stub(cache_dir: Path, tmp: str) -> None:
    if not cache_dir.is_dir():
        shutil.rmtree(tmp, True)
        os.makedirs(tmp)
        shutil.copytree(tmp, cache_dir)


async def next_free_name(base: str) -> str:
    # The caller writes the name it gets: the act is elsewhere.
    n = 0
    while os.path.exists(f"{base}{n}"):
        n += 1
    return f"{base}{n}"


async def size_of(path: str) -> int:
    # Its answer is only returned: nothing here acts on the file.
    return await asyncio.to_thread(os.path.getsize, path)
