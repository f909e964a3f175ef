import asyncio


async def notify(user_id: int) -> None:
    await asyncio.sleep(0)


async def signup(user_id: int) -> dict[str, int]:
    asyncio.create_task(notify(user_id))
    return {"id": user_id}
