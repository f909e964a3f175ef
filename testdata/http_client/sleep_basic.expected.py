"""A worker that polls a job."""
import asyncio


async def poll(job):
    # Wait between polls.
    while not job.done():
        await asyncio.sleep(0.5)  # half a second
    return job.result()
