# -*- coding: latin-1 -*-
import time

GREETING = "café"


async def f():
    time.sleep(1)
    return GREETING