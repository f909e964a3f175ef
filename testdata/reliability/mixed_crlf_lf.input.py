import time


async def poll(job):
    while not job.done():
        time.sleep(0.5)
    return job
