import asyncio as aio

import pandas as pd


async def reuses_alias(path):
    return await aio.to_thread(pd.read_csv, path)


async def taken(path, asyncio):
    # `asyncio` is a parameter here: asyncio.to_thread cannot be named.
    return pd.read_csv(path), asyncio
