from asyncio import create_task


async def handler(job):
    create_task(job.run())
