import asyncio

EVENTS: list[str] = []


async def connect(name: str) -> str:
    await asyncio.sleep(0)
    return f"{name} started"
