from asyncio import Task, create_task

# Strong references to running tasks: the event loop keeps only weak ones.
_background_tasks: "set[Task[object]]" = set()


async def handler(job):
    task = create_task(job.run())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
