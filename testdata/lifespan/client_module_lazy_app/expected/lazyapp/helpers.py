from .clients import get_http, get_session


def session_id() -> int:
    return id(get_session())


async def both_open() -> bool:
    return not get_session().closed and not get_http().is_closed
