"""A module whose annotations are deferred: the new set's annotation needs no quotes."""

from __future__ import annotations

import asyncio


async def notify(hub, event):
    asyncio.create_task(hub.publish(event))
