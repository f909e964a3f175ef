from .clients import SESSION, http


def session_id() -> int:
    return id(SESSION)


async def both_open() -> bool:
    return not SESSION.closed and not http.is_closed
