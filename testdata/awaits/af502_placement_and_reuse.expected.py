"""Jobs."""

from __future__ import annotations

import asyncio as aio

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: set[aio.Task[object]] = set()

LIMIT = 3


async def run(work, task, background_task):
    aio.create_task(work())  # names `task` and `background_task` are taken: refused


async def spawn(work):
    for _ in range(LIMIT):
        task = aio.create_task(work())  # one reference per task
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)
