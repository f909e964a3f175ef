"""A worker that polls a job."""
import time


async def poll(job):
    # Wait between polls.
    while not job.done():
        time.sleep(0.5)  # half a second
    return job.result()
