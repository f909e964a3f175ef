import time


async def f():
	if True:
		time.sleep(1)  # tabs
