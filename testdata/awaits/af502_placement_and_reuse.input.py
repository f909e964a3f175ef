"""Jobs."""

from __future__ import annotations

import asyncio as aio

LIMIT = 3


async def run(work, task, background_task):
    aio.create_task(work())  # names `task` and `background_task` are taken: refused


async def spawn(work):
    for _ in range(LIMIT):
        aio.create_task(work())  # one reference per task
