import asyncio
import time

from app import service
from app.service import _version


async def _settle():
    time.sleep(0.01)


async def test_save(store):
    service.save(store, {"a": 1})
    asyncio.create_task(_settle())
    assert store == ['{"a": 1}']


async def test_version():
    assert await _version() == "1.0"
