"""A module whose annotations are deferred: the new set's annotation needs no quotes."""

from __future__ import annotations

import asyncio

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: set[asyncio.Task[object]] = set()


async def notify(hub, event):
    task = asyncio.create_task(hub.publish(event))
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
