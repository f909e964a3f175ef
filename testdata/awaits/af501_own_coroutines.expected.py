import asyncio


async def notify(user_id):
    ...


async def audit(event):
    ...


async def handler(user_id):
    await notify(user_id)
    await audit("login")  # keeps its comment
    task = asyncio.create_task(notify(user_id))  # handed to create_task
    await asyncio.gather(notify(1), audit("x"))  # handed to gather
    pending = [notify(i) for i in range(3)]  # stored
    await asyncio.wait([asyncio.ensure_future(c) for c in pending])
    return notify(user_id)  # returned: the caller awaits it
