async def _current_user():
    return {"name": "anonymous"}


async def _startup():
    return None
