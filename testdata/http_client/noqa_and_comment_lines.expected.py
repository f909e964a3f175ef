import asyncio
import time

import requests


async def pauses():
    time.sleep(1)  # noqa: AF203
    time.sleep(2)  # noqa
    await asyncio.sleep(3)  # noqa: E501 (another linter's code: AF203 is still fixed)
    time.sleep(4)  # NOQA:af203,E501
    # asyncfix: ignore[AF203]
    time.sleep(5)
    # asyncfix: ignore[AF203]

    time.sleep(6)  # (as in fixit, a blank line between them does not matter)
    requests.get(
        "https://example.com",
    )  # noqa: AF201
    value = max(
        time.sleep(7),
        0,
    )  # asyncfix: ignore[http_client]
    # noqa: AF203 (on its own line a noqa covers nothing, as in ruff)
    await asyncio.sleep(8)
    return value
