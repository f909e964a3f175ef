import asyncio


async def f():
	if True:
		await asyncio.sleep(1)  # tabs
