# -*- coding: latin-1 -*-
import asyncio

GREETING = "café"


async def f():
    await asyncio.sleep(1)
    return GREETING