import functools


def traced(fn):
    @functools.wraps(fn)
    async def wrapper(*args):
        return await fn(*args)

    return wrapper


@traced
async def _compute(x):
    return x + 1


async def run():
    return await _compute(1)
