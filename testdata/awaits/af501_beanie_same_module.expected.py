from beanie import Document


class Task(Document):
    title: str
    done: bool = False


async def finish_all():
    async for task in Task.find_many(Task.done == False):  # noqa: E712
        await task.set({Task.done: True})


async def add(title):
    task = Task(title=title)
    created = await task.insert()
    if not created:
        raise RuntimeError(title)
    return task
