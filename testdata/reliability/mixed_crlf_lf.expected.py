import asyncio


async def poll(job):
    while not job.done():
        await asyncio.sleep(0.5)
    return job
