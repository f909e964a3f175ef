import asyncio
import time

from app import service
from app.service import _version

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: "set[asyncio.Task[object]]" = set()


async def _settle():
    time.sleep(0.01)


async def test_save(store):
    await service.save(store, {"a": 1})
    task = asyncio.create_task(_settle())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    assert store == ['{"a": 1}']


async def test_version():
    assert _version() == "1.0"
